"""The pages' forms: manual usage entry and alert preferences."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Member
from core.units import BY_SYMBOL
from plans.models import Zone
from usage.models import Alert
from usage.selectors import alert_opt_outs

FORM_UNITS = [BY_SYMBOL["MB"], BY_SYMBOL["GB"]]


class RecordUsageForm(forms.Form):
    """Manual entry of usage read off a phone's settings."""

    amount = forms.DecimalField(
        label=_("Amount"), min_value=Decimal("0.001"), max_digits=16, decimal_places=3
    )
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=[(unit.symbol, unit.name) for unit in FORM_UNITS],
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
        amount = self.cleaned_data["amount"] * BY_SYMBOL[self.cleaned_data["unit"]].size
        return int(amount.to_integral_value())


class PreferencesForm(forms.Form):
    """One checkbox per kind of alert (checked: on), and the emails' language."""

    language = forms.ChoiceField(
        label=_("Language of my emails"),
        required=False,
        choices=[("", _("The site's default")), *settings.LANGUAGES],
    )

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        off = alert_opt_outs(member)
        for kind, label in Alert.Kind.choices:
            if kind == Alert.Kind.PERIOD_CLOSED and member.role != Member.Role.OWNER:
                continue  # the owner's alone
            self.fields[f"alert_{kind}"] = forms.BooleanField(
                label=label, required=False, initial=kind not in off
            )
        self.fields["language"].initial = member.language

    def disabled_kinds(self) -> set[str]:
        return {
            kind
            for kind in Alert.Kind.values
            if f"alert_{kind}" in self.fields and not self.cleaned_data.get(f"alert_{kind}")
        }
