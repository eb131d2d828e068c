"""Plans and the terms in force for a household per period (SPEC §1 "Plan")."""

from __future__ import annotations

from itertools import permutations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import MAX_BYTES, Household, period_key_validator
from plans import rules


class ConsumptionOrder(models.TextChoices):
    """The two named orders (SPEC R3.2). Any order of the four kinds is also a
    consumption order (R7): it is stored as the kinds joined by commas
    (``bonus,addon,allowance,rollover``), and a list equal to a named order is stored
    as its name, so one order has one stored form."""

    ROLLOVER_FIRST = "rollover_first", "Rolled-over data first"
    ROLLOVER_LAST = "rollover_last", "Rolled-over data last"


# Every stored form of a consumption order (R7): the two names and the 24 lists.
CONSUMPTION_ORDERS = [
    *rules.KIND_ORDER,
    *(",".join(order) for order in permutations(rules.KINDS)),
]


class RolloverOnPlanChange(models.TextChoices):
    """SPEC R9: what a change of plan does to the rolled-over data."""

    KEEP = "keep", "Keep it"
    FORFEIT = "forfeit", "Lose it on any change of plan"
    FORFEIT_ON_DOWNGRADE = "forfeit_on_downgrade", "Lose it when the allowance gets smaller"


class RoamingMode(models.TextChoices):
    """SPEC R10: where roaming data comes from."""

    SEPARATE = "separate", "A roaming allowance of its own"
    FROM_DOMESTIC = "from_domestic", "Out of the domestic allowance (roam like at home)"


class WhenPoolIsEmpty(models.TextChoices):
    """SPEC R12: what the carrier does with the bytes the pool does not cover."""

    OVERAGE = "overage", "Bills them (overage)"
    SLOWED = "slowed", "Slows the line down, nothing billed"
    BLOCKED = "blocked", "Stops the data"


class PlanFields(models.Model):
    """The fields that define a plan's terms (SPEC §1 "Plan")."""

    monthly_allowance_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BYTES)],
        help_text="Domestic data included each period. Empty means unlimited.",
    )
    roaming_allowance_bytes = models.PositiveBigIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_BYTES)],
        help_text="Roaming data included each period (0 for none).",
    )
    rollover = models.BooleanField(
        default=False, help_text="Unused domestic allowance carries over to the next periods."
    )
    rollover_months = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="How many periods rolled-over data stays usable (1 = only the next one).",
    )
    rollover_cap_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BYTES)],
        help_text="At most this much rolls over each period. Empty means no cap.",
    )
    consumption_order = models.CharField(
        max_length=40,
        default=ConsumptionOrder.ROLLOVER_FIRST,
        help_text=(
            "Rolled-over data first (as Chinese carriers, BASE, iD Mobile and Vodafone UK "
            "pay-as-you-go do), last, after the allowance and packs (as AT&T, T-Mobile, "
            "Telstra and O2 UK's consumer plans do), or any order of the four kinds."
        ),
    )

    rollover_bank_cap_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BYTES)],
        help_text="At most this much rolled-over data held at once. Empty means no cap.",
    )
    rollover_on_plan_change = models.CharField(
        max_length=24, choices=RolloverOnPlanChange.choices, default=RolloverOnPlanChange.KEEP
    )
    roaming_mode = models.CharField(
        max_length=16, choices=RoamingMode.choices, default=RoamingMode.SEPARATE
    )
    roaming_fair_use_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BYTES)],
        help_text="Each member's domestic data usable abroad per period. Empty means no limit.",
    )
    when_pool_is_empty = models.CharField(
        max_length=10, choices=WhenPoolIsEmpty.choices, default=WhenPoolIsEmpty.OVERAGE
    )

    TERM_FIELDS = (
        "monthly_allowance_bytes",
        "roaming_allowance_bytes",
        "rollover",
        "rollover_months",
        "rollover_cap_bytes",
        "consumption_order",
        "rollover_bank_cap_bytes",
        "rollover_on_plan_change",
        "roaming_mode",
        "roaming_fair_use_bytes",
        "when_pool_is_empty",
    )

    class Meta:
        abstract = True

    def term_values(self) -> dict:
        return {name: getattr(self, name) for name in self.TERM_FIELDS}


def _term_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(rollover_months__gte=1), name=f"{prefix}_rollover_months_positive"
        ),
        models.CheckConstraint(
            condition=Q(consumption_order__in=CONSUMPTION_ORDERS),
            name=f"{prefix}_consumption_order_valid",
        ),
        models.CheckConstraint(
            condition=Q(rollover_on_plan_change__in=RolloverOnPlanChange.values)
            & Q(roaming_mode__in=RoamingMode.values)
            & Q(when_pool_is_empty__in=WhenPoolIsEmpty.values),
            name=f"{prefix}_carrier_terms_valid",
        ),
        models.CheckConstraint(
            condition=Q(roaming_mode=RoamingMode.FROM_DOMESTIC)
            | Q(roaming_fair_use_bytes__isnull=True),
            name=f"{prefix}_fair_use_only_from_domestic",
        ),
        models.CheckConstraint(
            condition=(
                Q(monthly_allowance_bytes__isnull=True) | Q(monthly_allowance_bytes__lte=MAX_BYTES)
            )
            & Q(roaming_allowance_bytes__lte=MAX_BYTES)
            & (Q(rollover_cap_bytes__isnull=True) | Q(rollover_cap_bytes__lte=MAX_BYTES))
            & (Q(rollover_bank_cap_bytes__isnull=True) | Q(rollover_bank_cap_bytes__lte=MAX_BYTES))
            & (Q(roaming_fair_use_bytes__isnull=True) | Q(roaming_fair_use_bytes__lte=MAX_BYTES)),
            name=f"{prefix}_amounts_at_most_1e13",
        ),
    ]


class Plan(PlanFields):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=200)
    monthly_price = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Monthly price excluding VAT, in euros (for display and the EU roaming check).",
    )

    class Meta:
        ordering = ["household", "name"]
        constraints = _term_constraints("plan")

    def __str__(self) -> str:
        return self.name


class Terms(PlanFields):
    """The plan terms in force for a household from ``period`` on (until the next row)."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="terms")
    period = models.CharField(max_length=7, validators=[period_key_validator])
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="terms")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "terms"
        ordering = ["household", "period"]
        constraints = [
            models.UniqueConstraint(fields=["household", "period"], name="terms_one_per_period"),
            *_term_constraints("terms"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} from {self.period}"
