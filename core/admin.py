"""Admin building blocks with no product words: typed byte amounts and their display."""

from django import forms
from django.core.exceptions import ValidationError

from core.units import format_bytes, parse_bytes, shortest_text


class ByteAmountField(forms.CharField):
    """Bytes typed by a person: plain digits, or an amount with a unit (500MB, 5GB)."""

    def __init__(self, *args, allow_empty: bool = True, **kwargs):
        self.allow_empty = allow_empty
        kwargs.setdefault("required", not allow_empty)
        kwargs.setdefault("help_text", "Bytes, or with a unit: 500MB, 5GB, 1.5TB.")
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        return shortest_text(value) if isinstance(value, int) else value

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        try:
            return parse_bytes(self.label or "amount", value)
        except ValidationError as error:
            raise forms.ValidationError(error.messages[0].split(": ", 1)[-1]) from None


def human(value) -> str:
    """``12.3 GB (12300000000)`` for list columns: human units beside exact bytes."""
    if value is None:
        return "unlimited"
    return f"{format_bytes(value)} ({value})"
