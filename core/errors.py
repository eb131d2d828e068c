"""One way to refuse bad input: a message that names the field and the value."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.problems import Problem


class Refused(ValidationError):
    """Bad input, refused before anything changed (SPEC R5).

    It is a ``ValidationError`` keyed by field, so forms show it beside the field;
    ``str()`` gives the one line that commands print: ``field: reason (value)``.
    """

    def __init__(self, field: str, reason: str, value: object) -> None:
        self.field = field
        self.reason = reason
        self.value = value
        super().__init__({field: [ValidationError(f"{reason} ({value})", code="refused")]})

    def __str__(self) -> str:
        return str(self.problem)

    @property
    def problem(self) -> Problem:
        return Problem(self.field, self.reason, self.value)

    @classmethod
    def of(cls, problem: Problem) -> Refused:
        return cls(problem.field, problem.reason, problem.value)


def clean_or_refuse(instance, *, exclude: list[str] | None = None) -> None:
    """Run model validation and re-raise its first problem as ``Refused``."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        if field == "__all__":
            raise Refused(instance._meta.model_name, messages[0], instance) from error
        raise Refused(field, messages[0], getattr(instance, field, None)) from error
