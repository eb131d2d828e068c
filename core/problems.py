"""What is wrong with an input, as a plain value (no Django): rules return these, and
the services around them raise them as ``core.errors.Refused`` (``Refused.of``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple


class Problem(NamedTuple):
    field: str
    reason: str
    value: object

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} ({self.value})"


def bytes_problem(field: str, value: object, *, minimum: int, maximum: int) -> Problem | None:
    """An amount is a whole number of bytes from ``minimum`` to ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return Problem(field, "must be a whole number of bytes", value)
    if not minimum <= value <= maximum:
        top = "10^13" if maximum == 10**13 else str(maximum)
        return Problem(field, f"must be from {minimum} to {top} bytes", value)
    return None


def choice_problem(field: str, value: object, choices: Collection[str]) -> Problem | None:
    """A value must be one of ``choices``."""
    if value not in choices:
        return Problem(field, "must be one of " + ", ".join(choices), value)
    return None
