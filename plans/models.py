"""Plans, the terms in force per period, buckets, the ledger and period closes."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import MAX_BYTES, Household, period_key_validator


class ConsumptionOrder(models.TextChoices):
    ROLLOVER_FIRST = "rollover_first", "Rolled-over data first"
    ROLLOVER_LAST = "rollover_last", "Rolled-over data last"


class Zone(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic")
    ROAMING = "roaming", _("Roaming")


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


class Bucket(models.Model):
    """One grant of data. Never merged: every grant is its own row (PITFALLS)."""

    class Kind(models.TextChoices):
        ALLOWANCE = "allowance", _("Allowance")
        ROLLOVER = "rollover", _("Rollover")
        BONUS = "bonus", _("Bonus")
        ADDON = "addon", _("Add-on")

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="buckets")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    zone = models.CharField(max_length=10, choices=Zone.choices)
    # Allowance: the period it is for. Rollover: the period it rolled from.
    # Bonus and add-on: the period containing valid_from.
    period = models.CharField(max_length=7)
    granted_bytes = models.PositiveBigIntegerField(null=True, help_text="Empty: unlimited.")
    allocated_bytes = models.PositiveBigIntegerField(default=0)
    rolled_out_bytes = models.PositiveBigIntegerField(default=0)
    expired_bytes = models.PositiveBigIntegerField(default=0)
    left_bytes = models.PositiveBigIntegerField(null=True, help_text="Empty: unlimited.")
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["household", "valid_from", "id"]
        indexes = [models.Index(fields=["household", "zone", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["allowance", "rollover", "bonus", "addon"]),
                name="bucket_kind_valid",
            ),
            models.CheckConstraint(condition=Q(zone__in=Zone.values), name="bucket_zone_valid"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("valid_from")), name="bucket_expires_after_valid_from"
            ),
            models.CheckConstraint(
                condition=(
                    Q(granted_bytes__isnull=True, left_bytes__isnull=True)
                    & Q(kind="allowance", zone="domestic", rolled_out_bytes=0, expired_bytes=0)
                )
                | Q(
                    granted_bytes__isnull=False,
                    left_bytes__isnull=False,
                    granted_bytes=F("allocated_bytes")
                    + F("rolled_out_bytes")
                    + F("expired_bytes")
                    + F("left_bytes"),
                ),
                name="bucket_balance",
                violation_error_message=(
                    "granted must equal allocated + rolled out + expired + left "
                    "(only a domestic allowance may be unlimited)"
                ),
            ),
            models.CheckConstraint(
                condition=Q(granted_bytes__isnull=True) | Q(granted_bytes__lte=MAX_BYTES),
                name="bucket_granted_at_most_1e13",
            ),
            models.CheckConstraint(
                condition=Q(kind="allowance") | Q(granted_bytes__gte=1),
                name="bucket_grant_positive",
            ),
            models.CheckConstraint(
                condition=Q(kind="allowance") | Q(rolled_out_bytes=0),
                name="bucket_only_allowance_rolls",
            ),
            models.UniqueConstraint(
                fields=["household", "period", "zone"],
                condition=Q(kind="allowance"),
                name="bucket_one_allowance_per_period_zone",
            ),
            models.UniqueConstraint(
                fields=["household", "period"],
                condition=Q(kind="rollover"),
                name="bucket_one_rollover_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.zone} {self.period} #{self.pk}"

    @property
    def unlimited(self) -> bool:
        return self.granted_bytes is None


class LedgerEntry(models.Model):
    """An append-only movement of bytes into or out of one bucket (SPEC §1 "Ledger").

    ``grant`` and ``roll_in`` add to a bucket; ``allocation``, ``roll_out`` and
    ``expiry`` take from it; ``extension`` moves no byte but records a later expiry
    granted as a promotion (the note says from when to when). ``usage_record_id``
    names the ``usage.UsageRecord`` an allocation serves; it is a plain integer so
    that plans does not depend on usage.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        ALLOCATION = "allocation", "Allocation"
        ROLL_OUT = "roll_out", "Roll-out"
        ROLL_IN = "roll_in", "Roll-in"
        EXPIRY = "expiry", "Expiry"
        EXTENSION = "extension", "Expiry extended"

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="ledger")
    bucket = models.ForeignKey(Bucket, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    bytes = models.PositiveBigIntegerField(null=True, help_text="Empty: an unlimited grant.")
    at = models.DateTimeField(help_text="When the movement takes effect.")
    usage_record_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    period_close = models.ForeignKey(  # indexed where set only (see Meta)
        "PeriodClose",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    note = models.CharField(max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["id"]
        indexes = [
            # Most entries are allocations, written by the hundred thousand, with no close.
            models.Index(
                fields=["period_close"],
                condition=Q(period_close__isnull=False),
                name="ledgerentry_close_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=["grant", "allocation", "roll_out", "roll_in", "expiry", "extension"]
                ),
                name="ledgerentry_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(bytes__isnull=False) | Q(kind__in=["grant", "extension"]),
                name="ledgerentry_bytes_required",
            ),
            models.CheckConstraint(
                condition=Q(usage_record_id__isnull=False) | ~Q(kind="allocation"),
                name="ledgerentry_allocation_has_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.bytes} on bucket #{self.bucket_id}"


class PeriodClose(models.Model):
    """The month-end rollover of one household for one period (SPEC R4)."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="closes")
    period = models.CharField(max_length=7, validators=[period_key_validator])
    unused_bytes = models.PositiveBigIntegerField(
        null=True, help_text="Domestic allowance left at the period's end; empty if unlimited."
    )
    rolled_bytes = models.PositiveBigIntegerField(default=0)
    expired_bytes = models.PositiveBigIntegerField(default=0)
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["household", "-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "period"], name="periodclose_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(unused_bytes__isnull=True, rolled_bytes=0)
                | Q(rolled_bytes__lte=F("unused_bytes")),
                name="periodclose_rolled_at_most_unused",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.period}"
