"""Usage records and their allocations to buckets (SPEC §1, R3)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import MAX_BYTES, Household, Member
from plans.models import Bucket, Zone


class UsageRecord(models.Model):
    # No index of their own: the composite indexes below lead with them, and every
    # index is one more write per record (an import writes hundreds of thousands).
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="usage", db_index=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="usage", db_index=False
    )
    ref = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    period = models.CharField(max_length=7, help_text="The period containing started_at.")
    zone = models.CharField(max_length=10, choices=Zone.choices)
    bytes = models.PositiveBigIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_BYTES)]
    )
    covered_bytes = models.PositiveBigIntegerField(default=0)
    overage_bytes = models.PositiveBigIntegerField(default=0)
    # SPEC R10: of the covered bytes of a roaming record, those drawn from domestic
    # buckets (``from_domestic`` mode); 0 for every other record.
    from_domestic_bytes = models.PositiveBigIntegerField(default=0, db_default=0)
    # SPEC R12: of the overage, what a ``block`` cap refused and what lay beyond the
    # member's fair-use volume (R10); the rest found the pool empty.
    capped_bytes = models.PositiveBigIntegerField(default=0, db_default=0)
    beyond_fair_use_bytes = models.PositiveBigIntegerField(default=0, db_default=0)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["household", "period"]),
            models.Index(fields=["member", "period"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["household", "ref"], name="usagerecord_one_per_ref"),
            models.CheckConstraint(
                condition=Q(bytes__gte=1, bytes__lte=MAX_BYTES), name="usagerecord_bytes_range"
            ),
            models.CheckConstraint(
                condition=Q(bytes=F("covered_bytes") + F("overage_bytes")),
                name="usagerecord_covered_plus_overage",
            ),
            models.CheckConstraint(
                condition=Q(zone__in=Zone.values), name="usagerecord_zone_valid"
            ),
            models.CheckConstraint(
                condition=Q(from_domestic_bytes__lte=F("covered_bytes"))
                & (Q(zone="roaming") | Q(from_domestic_bytes=0)),
                name="usagerecord_from_domestic_within_covered_roaming",
            ),
            models.CheckConstraint(
                condition=Q(overage_bytes__gte=F("capped_bytes") + F("beyond_fair_use_bytes")),
                name="usagerecord_uncovered_reasons_within_overage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.bytes} bytes"


class Allocation(models.Model):
    """The part of a usage record drawn from one bucket."""

    record = models.ForeignKey(  # indexed by the (record, bucket) constraint
        UsageRecord, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    bucket = models.ForeignKey(Bucket, on_delete=models.PROTECT, related_name="allocations")
    bytes = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["record", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(bytes__gte=1), name="allocation_bytes_positive"),
            models.UniqueConstraint(fields=["record", "bucket"], name="allocation_one_per_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.bytes} bytes of record #{self.record_id} from bucket #{self.bucket_id}"


class Alert(models.Model):
    """An alert that fired: once per household, kind, subject, threshold and period
    (a database constraint makes it so, even with concurrent usage recording)."""

    class Kind(models.TextChoices):
        POOL_LOW = "pool_low", _("Domestic pool low")
        POOL_EMPTY = "pool_empty", _("Domestic pool empty")
        ROAMING_LOW = "roaming_low", _("Roaming data low")
        ROAMING_EMPTY = "roaming_empty", _("Roaming data empty")
        CAP_NEAR = "cap_near", _("Monthly cap nearly reached")
        CAP_REACHED = "cap_reached", _("Monthly cap reached")
        ROLLOVER_EXPIRING = "rollover_expiring", _("Rolled-over data expiring")
        PERIOD_CLOSED = "period_closed", _("Period closed")
        FAIR_USE = "fair_use", _("Fair-use volume abroad nearly used")

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the alert is about: "domestic" / "roaming" (pool), "member:<id>",
    # "bucket:<id>", "close:<period>".
    subject = models.CharField(max_length=40)
    threshold = models.PositiveIntegerField(help_text="Percent, or days for an expiry.")
    period = models.CharField(max_length=7)
    figures = models.JSONField(default=dict, help_text="The numbers the message shows.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "kind", "subject", "threshold", "period"],
                name="alert_once_per_subject_threshold_period",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "pool_low",
                        "pool_empty",
                        "roaming_low",
                        "roaming_empty",
                        "cap_near",
                        "cap_reached",
                        "rollover_expiring",
                        "period_closed",
                        "fair_use",
                    ]
                ),
                name="alert_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.subject}, {self.period})"


class AlertDelivery(models.Model):
    """One alert for one member: emailed (retried until sent) and shown as a notice
    on the dashboard until dismissed."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="deliveries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="alerts")
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-alert__created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "member"], name="alertdelivery_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.alert} to {self.member}"


class AlertOptOut(models.Model):
    """A member who turned one kind of alert off."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="alert_opt_outs")
    kind = models.CharField(max_length=20, choices=Alert.Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "kind"], name="alertoptout_once_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.member} turned off {self.kind}"


class AlertSettings(models.Model):
    """A household's own alert thresholds; empty fields take the site's defaults."""

    household = models.OneToOneField(
        Household, on_delete=models.CASCADE, related_name="alert_settings"
    )
    pool_low_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(99)],
        help_text="Warn when the pool's remaining falls to this percent of the period's data.",
    )
    cap_near_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Warn a member when their covered usage reaches this percent of their cap.",
    )
    rollover_warn_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="First warning this many days before rolled-over data expires.",
    )
    rollover_last_warn_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Last warning this many days before it expires.",
    )

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"Alert settings of {self.household}"
