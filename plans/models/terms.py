"""Plans and the terms in force for a household per period (SPEC §1 "Plan")."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import MAX_BYTES, Household, period_key_validator


class ConsumptionOrder(models.TextChoices):
    ROLLOVER_FIRST = "rollover_first", "Rolled-over data first"
    ROLLOVER_LAST = "rollover_last", "Rolled-over data last"


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
        max_length=20,
        choices=ConsumptionOrder.choices,
        default=ConsumptionOrder.ROLLOVER_FIRST,
        help_text=(
            "Rolled-over data first (as Chinese carriers, BASE, Vodafone UK and O2 do) "
            "or last, after the allowance and packs (as AT&T, T-Mobile and Telstra do)."
        ),
    )

    TERM_FIELDS = (
        "monthly_allowance_bytes",
        "roaming_allowance_bytes",
        "rollover",
        "rollover_months",
        "rollover_cap_bytes",
        "consumption_order",
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
            condition=Q(consumption_order__in=ConsumptionOrder.values),
            name=f"{prefix}_consumption_order_valid",
        ),
        models.CheckConstraint(
            condition=(
                Q(monthly_allowance_bytes__isnull=True) | Q(monthly_allowance_bytes__lte=MAX_BYTES)
            )
            & Q(roaming_allowance_bytes__lte=MAX_BYTES)
            & (Q(rollover_cap_bytes__isnull=True) | Q(rollover_cap_bytes__lte=MAX_BYTES)),
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
