"""The forms of the plans admin: a plan, a grant, an extended expiry."""

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.admin import ByteAmountField
from core.errors import Refused
from plans.models import ConsumptionOrder, Plan, Zone
from plans.roaming import eu_minimum_roaming_bytes


class PlanForm(forms.ModelForm):
    monthly_allowance_bytes = ByteAmountField(
        label="Monthly allowance",
        required=False,
        help_text="Domestic data each period, e.g. 100GB. Leave empty for unlimited data.",
    )
    roaming_allowance_bytes = ByteAmountField(
        label="Roaming allowance",
        required=False,
        help_text="Roaming data each period, e.g. 10GB (0 or empty for none).",
    )
    rollover_cap_bytes = ByteAmountField(
        label="Rollover cap",
        required=False,
        help_text="At most this much rolls over each period. Empty: no cap.",
    )
    rollover_bank_cap_bytes = ByteAmountField(
        label="Rollover bank cap",
        required=False,
        help_text="At most this much rolled-over data held at once. Empty: no cap.",
    )
    roaming_fair_use_bytes = ByteAmountField(
        label="Fair-use volume abroad",
        required=False,
        help_text="With roaming out of the domestic allowance: each member's limit. Empty: none.",
    )
    consumption_order = forms.ChoiceField(choices=ConsumptionOrder.choices)
    use_eu_minimum = forms.BooleanField(
        required=False,
        label="Set the roaming allowance to the EU minimum",
        help_text=(
            "EU fair-use rule: a plan with open data must include at least "
            "2 × its monthly price excluding VAT ÷ the regulated wholesale cap per GB "
            "of roaming data in the EU (2025: €1.30, 2026: €1.10, 2027 onwards: €1.00)."
        ),
    )

    class Meta:
        model = Plan
        fields = [
            "household",
            "name",
            "monthly_price",
            "monthly_allowance_bytes",
            "roaming_allowance_bytes",
            "use_eu_minimum",
            "rollover",
            "rollover_months",
            "rollover_cap_bytes",
            "rollover_bank_cap_bytes",
            "rollover_on_plan_change",
            "consumption_order",
            "roaming_mode",
            "roaming_fair_use_bytes",
            "when_pool_is_empty",
        ]
        help_texts = {
            "rollover_months": (
                "How many periods rolled-over data stays usable: 1 means only during "
                "the next period; 2 means the next two."
            ),
            "consumption_order": (
                "Which data is used first. Rolled-over data first: Chinese carriers, "
                "BASE, iD Mobile, Vodafone UK pay-as-you-go. Rolled-over data last (after "
                "the allowance, bonuses and add-ons): AT&T, T-Mobile, Telstra, O2 UK's "
                "consumer plans."
            ),
        }

    # Terms with a default of their own: left out of a post, they keep that default.
    DEFAULTED = ("rollover_on_plan_change", "roaming_mode", "when_pool_is_empty")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.DEFAULTED:
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in self.DEFAULTED:
            data[name] = data.get(name) or Plan._meta.get_field(name).default
        if data.get("roaming_allowance_bytes") is None:
            data["roaming_allowance_bytes"] = 0
        if data.get("use_eu_minimum"):
            price = data.get("monthly_price")
            if price is None:
                self.add_error("monthly_price", "Needed to work out the EU minimum.")
            else:
                try:
                    data["roaming_allowance_bytes"] = eu_minimum_roaming_bytes(
                        price, timezone.now().year
                    )
                except ValueError as error:  # a negative price: a form error, not a 500
                    self.add_error("monthly_price", str(error))
        return data


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
