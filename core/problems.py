"""What is wrong with an input, as a plain value (no Django): rules return these, and
the services around them raise them as ``core.errors.Refused``."""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    field: str
    reason: str
    value: object

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} ({self.value})"


class Broken(Exception):
    """A rule refusing its input, outside Django (``Refused`` is the same inside it)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem
