"""The plan form of the admin: each carrier term in a family's words (SPEC §1, R7–R12).

The consumption order is set without typing anything: a quick choice of the two named
orders, or four selects (1st to 4th) for any order of the four kinds; it is checked by
the one rule (``plans.rules.order_problem``) and stored in its one form
(``stored_order``). Everything works without JavaScript.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone

from core.admin import ByteAmountField
from core.units import format_bytes
from plans.models import Plan, RoamingMode
from plans.roaming import eu_minimum_roaming_bytes
from plans.rules import KIND_ORDER, fair_use_problem, order_as_list, order_problem, stored_order

CUSTOM = "custom"
ORDER_CHOICES = [
    (
        "rollover_first",
        "Rolled-over data first, then the allowance, bonuses and add-ons (as Chinese "
        "carriers, BASE, iD Mobile and Vodafone UK pay-as-you-go do)",
    ),
    (
        "rollover_last",
        "Rolled-over data last, after the allowance, bonuses and add-ons (as AT&T, "
        "T-Mobile, Telstra and O2 UK's consumer plans do)",
    ),
    (
        CUSTOM,
        "In the order set below (e.g. Australian data banking: bonuses and add-ons "
        "first, then the allowance, the bank last)",
    ),
]
KIND_CHOICES = [
    ("allowance", "Monthly allowance"),
    ("rollover", "Rolled-over data (the bank)"),
    ("bonus", "Bonuses (promotions)"),
    ("addon", "Add-ons (purchased packs)"),
]
PLACES = ("1st", "2nd", "3rd", "4th")
ORDER_FIELDS = tuple(f"order_{index + 1}" for index in range(len(PLACES)))
EU_RULE = (
    "EU fair-use rule: a plan with open data must allow at least 2 × its monthly price "
    "excluding VAT ÷ the regulated wholesale cap per GB of roaming data in the EU "
    "(2025: €1.30, 2026: €1.10, 2027 onwards: €1.00)."
)

HELP_TEXTS = {
    "rollover_months": (
        "How many periods rolled-over data stays usable: 1 means only during the next "
        "period; 2 means the next two."
    ),
    "rollover_cap_bytes": "At most this much rolls over from one month. Empty: no cap.",
    "rollover_bank_cap_bytes": (
        "The most rolled-over data the household may hold at once, however much each "
        "month adds: 20GB for T-Mobile's Data Stash. Once the bank is full nothing more "
        "rolls over; what is already banked stays. Empty: no cap."
    ),
    "rollover_on_plan_change": (
        "What a change of plan does to the rolled-over data: you keep it; you lose it on "
        "any change of plan (AT&T, Vodafone, Telstra); or you lose it only when the new "
        "plan has less data each month (Nu Mobile)."
    ),
    "roaming_mode": (
        "Where data abroad comes from: a roaming allowance of its own, or the domestic "
        "allowance itself, up to a fair-use volume (the EU's “roam like at home”)."
    ),
    "roaming_fair_use_bytes": (
        "With roaming out of the domestic allowance: how much of it each member may use "
        "abroad each period, e.g. 35GB of Free's 250 GB plan. Empty: no limit. Leave it "
        "empty with a roaming allowance of its own."
    ),
    "when_pool_is_empty": (
        "What the carrier does once the shared data is used up: bills the extra, slows "
        "the line down and bills nothing (Google Fi, T-Mobile, Bouygues), or stops the "
        "data. The bytes are counted the same way; pages name them as the plan says."
    ),
}


def _price(value) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


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
    rollover_cap_bytes = ByteAmountField(label="Rollover cap", required=False)
    rollover_bank_cap_bytes = ByteAmountField(label="Rollover bank cap", required=False)
    roaming_fair_use_bytes = ByteAmountField(label="Fair-use volume abroad", required=False)
    consumption_order = forms.ChoiceField(
        label="Which data is used first",
        choices=ORDER_CHOICES,
        widget=forms.RadioSelect,
        help_text="Within one kind, the data that expires soonest goes first.",
    )
    order_1, order_2, order_3, order_4 = (
        forms.ChoiceField(label=f"{place} used", choices=KIND_CHOICES, required=False)
        for place in PLACES
    )
    use_eu_minimum = forms.BooleanField(
        required=False, label="Set the roaming allowance to the EU minimum", help_text=EU_RULE
    )
    use_eu_minimum_fair_use = forms.BooleanField(
        required=False,
        label="Set the fair-use volume to the EU minimum",
        help_text="With roaming out of the domestic allowance only. " + EU_RULE,
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
            *ORDER_FIELDS,
            "roaming_mode",
            "roaming_fair_use_bytes",
            "use_eu_minimum_fair_use",
            "when_pool_is_empty",
        ]
        help_texts = HELP_TEXTS
        labels = {
            "rollover_on_plan_change": "On a change of plan, rolled-over data",
            "roaming_mode": "Data abroad",
            "when_pool_is_empty": "When the shared data runs out, the carrier",
        }

    # Terms with a default of their own: left out of a post, they keep that default.
    DEFAULTED = ("rollover_on_plan_change", "roaming_mode", "when_pool_is_empty")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.DEFAULTED:
            self.fields[name].required = False
        for name, help_text in HELP_TEXTS.items():
            self.fields[name].help_text = help_text
        stored = (
            self.initial.get("consumption_order")
            or Plan._meta.get_field("consumption_order").get_default()
        )
        kinds = order_as_list(stored)
        self.initial["consumption_order"] = stored if stored in KIND_ORDER else CUSTOM
        for name, kind in zip(ORDER_FIELDS, kinds, strict=True):
            self.initial.setdefault(name, kind)
        self._show_eu_minimum_beside_fair_use()

    def _term(self, name: str):
        """A term as the form shows it: as posted, else as saved."""
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    def _show_eu_minimum_beside_fair_use(self) -> None:
        """SPEC R10 with the EU rule: in ``from_domestic`` mode the carrier may not limit
        data abroad below the EU minimum for the plan's price; say what it is."""
        if self._term("roaming_mode") != RoamingMode.FROM_DOMESTIC:
            return
        price, year = _price(self._term("monthly_price")), timezone.now().year
        if price is None or not price.is_finite() or not 0 <= price < 10**6:
            return  # the price field says what is wrong with it
        minimum = eu_minimum_roaming_bytes(price, year)
        field = self.fields["roaming_fair_use_bytes"]
        field.help_text += (
            f" EU minimum for €{price} in {year}: {format_bytes(minimum)} ({minimum} bytes)."
        )

    def clean(self):
        data = super().clean()
        for name in self.DEFAULTED:
            data[name] = data.get(name) or Plan._meta.get_field(name).default
        if data.get("roaming_allowance_bytes") is None:
            data["roaming_allowance_bytes"] = 0
        self._clean_order(data)
        if data.get("use_eu_minimum"):
            self._use_eu_minimum(data, "roaming_allowance_bytes")
        if data.get("use_eu_minimum_fair_use"):
            if data["roaming_mode"] != RoamingMode.FROM_DOMESTIC:
                self.add_error(
                    "use_eu_minimum_fair_use", "Only with roaming out of the domestic allowance."
                )
            else:
                self._use_eu_minimum(data, "roaming_fair_use_bytes")
        self._clean_fair_use(data)
        return data

    def _clean_order(self, data: dict) -> None:
        """SPEC R7: a quick choice is its named order; otherwise the four places."""
        if data.get("consumption_order") != CUSTOM:
            return
        kinds = [data.get(name) or "" for name in ORDER_FIELDS]
        problem = order_problem("consumption_order", kinds)
        if problem is None:
            data["consumption_order"] = stored_order(kinds)
            return
        del data["consumption_order"]  # the plan keeps its order; the error says why
        index = problem.field.removeprefix("consumption_order").strip("[]")
        where = ORDER_FIELDS[int(index)] if index else "consumption_order"
        kind = dict(KIND_CHOICES).get(problem.value, problem.value)
        messages = {
            "names a kind twice": f"{kind} is already used earlier: each kind goes in one place.",
            "unknown kind": (
                f"Choose one of the four kinds ({problem.value})."
                if problem.value
                else "Choose a kind for this place."
            ),
        }
        self.add_error(where, messages.get(problem.reason, f"Set each place: {problem.reason}."))

    def _clean_fair_use(self, data: dict) -> None:
        """SPEC R10: a fair-use volume only with roaming out of the domestic allowance
        (a form error here, before the database's constraint would refuse it)."""
        if "roaming_fair_use_bytes" not in data:
            return
        if fair_use_problem(data["roaming_mode"], data["roaming_fair_use_bytes"]):
            self.add_error(
                "roaming_fair_use_bytes",
                "Means nothing with a roaming allowance of its own: leave it empty, or "
                "choose roaming out of the domestic allowance.",
            )

    def _use_eu_minimum(self, data: dict, field: str) -> None:
        price = data.get("monthly_price")
        if price is None:
            if "monthly_price" not in self.errors:
                self.add_error("monthly_price", "Needed to work out the EU minimum.")
            return
        try:
            data[field] = eu_minimum_roaming_bytes(price, timezone.now().year)
        except ValueError as error:  # a negative price: a form error, not a 500
            if "monthly_price" not in self.errors:
                self.add_error("monthly_price", str(error))
