"""The ledger of every movement of bytes, and period closes (SPEC §1, R4)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from accounts.models import Household, period_key_validator
from plans.models.buckets import Bucket


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
    # SPEC R8: what the rollover buckets still valid after the period held at its end.
    banked_bytes = models.PositiveBigIntegerField(default=0, db_default=0)
    # SPEC R9: a close at a change of plan that lost the rolled-over data.
    forfeited = models.BooleanField(default=False, db_default=False)
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
            models.CheckConstraint(
                condition=Q(forfeited=False) | Q(rolled_bytes=0),
                name="periodclose_forfeit_rolls_nothing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.period}"
