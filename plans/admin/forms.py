"""The forms of the plans admin: a grant, an extended expiry (the plan's: ``plan_form``)."""

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.admin import ByteAmountField
from core.errors import Refused
from plans.models import Zone


class GrantForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("addon", "Add-on (purchased pack)"), ("bonus", "Bonus (promotion)")]
    )
    zone = forms.ChoiceField(choices=Zone.choices)
    amount = ByteAmountField(label="Amount", allow_empty=False, help_text="e.g. 5GB or 500MB")
    at = forms.DateTimeField(
        label="Valid from",
        required=False,
        help_text="Empty: now. In the household's time zone.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    expires_at = forms.DateTimeField(
        label="Expires at",
        required=False,
        help_text="Empty: the end of the period it starts in.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(max_length=200, required=False)
    rolls_over = forms.BooleanField(
        required=False,
        label="Rolls over",
        help_text="A domestic pack banked with the monthly data when the plan rolls over.",
    )


class ExtendForm(forms.Form):
    expires_at = forms.DateTimeField(
        label="New expiry",
        help_text="In the household's time zone; later than the current expiry.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(max_length=120, required=False, label="Why (e.g. the promotion)")


def show_refusal(form: forms.Form, error: ValidationError, fields: dict[str, str]) -> None:
    """Put a service's refusal beside the form field it names (``fields`` maps the
    service's argument to the form's field); otherwise above the form, naming it."""
    field = fields.get(getattr(error, "field", None))
    if field is not None:
        form.add_error(field, error.messages[0])
    else:
        form.add_error(None, str(error) if isinstance(error, Refused) else error.messages[0])


GRANT_FIELDS = {
    "kind": "kind",
    "zone": "zone",
    "bytes": "amount",
    "at": "at",
    "expires_at": "expires_at",
    "note": "note",
    "rolls_over": "rolls_over",
}


def naive(value: datetime | None) -> datetime | None:
    """A form's time as typed: read later in the household's zone, not the server's."""
    return None if value is None else timezone.make_naive(value).replace(tzinfo=None)
