"""Buckets: one row per grant of data (SPEC §1 "Bucket")."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import MAX_BYTES, Household


class Zone(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic")
    ROAMING = "roaming", _("Roaming")


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
    # SPEC R11: a domestic pack whose bytes left roll over with the allowance's.
    rolls_over = models.BooleanField(default=False, db_default=False)
    # SPEC R9: emptied by a forfeiting close; never eligible again.
    forfeited = models.BooleanField(default=False, db_default=False)
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
            # A grant is at most 10^13 bytes (R2); a rollover bucket holds what rolled,
            # which with packs that roll over (R11) may add up to more.
            models.CheckConstraint(
                condition=Q(granted_bytes__isnull=True)
                | Q(granted_bytes__lte=MAX_BYTES)
                | Q(kind="rollover"),
                name="bucket_granted_at_most_1e13",
            ),
            models.CheckConstraint(
                condition=Q(kind="allowance") | Q(granted_bytes__gte=1),
                name="bucket_grant_positive",
            ),
            models.CheckConstraint(
                condition=Q(kind="allowance") | Q(rolls_over=True) | Q(rolled_out_bytes=0),
                name="bucket_only_allowance_rolls",
            ),
            models.CheckConstraint(
                condition=Q(rolls_over=False) | Q(kind__in=["bonus", "addon"], zone="domestic"),
                name="bucket_only_domestic_packs_roll_over",
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
