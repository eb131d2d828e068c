from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from plans.models import Zone

UNITS = {"MB": 10**6, "GB": 10**9}


class RecordUsageForm(forms.Form):
    """Manual entry of usage read off a phone's settings."""

    amount = forms.DecimalField(
        label=_("Amount"), min_value=Decimal("0.001"), max_digits=16, decimal_places=3
    )
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=[("MB", pgettext_lazy("unit", "MB")), ("GB", pgettext_lazy("unit", "GB"))],
        initial="GB",
    )
    zone = forms.ChoiceField(label=_("Zone"), choices=Zone.choices, initial=Zone.DOMESTIC)
    at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    # Where a service refusal about a field belongs on this form.
    FIELD_OF = {"bytes": "amount", "zone": "zone", "started_at": "at"}

    def bytes(self) -> int:
        amount = self.cleaned_data["amount"] * UNITS[self.cleaned_data["unit"]]
        return int(amount.to_integral_value())
