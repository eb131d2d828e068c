"""Usage records and their allocations to buckets (SPEC §1, R3)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from accounts.models import MAX_BYTES, Household, Member
from plans.models import Bucket, Zone


class UsageRecord(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="usage")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="usage")
    ref = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    period = models.CharField(max_length=7, help_text="The period containing started_at.")
    zone = models.CharField(max_length=10, choices=Zone.choices)
    bytes = models.PositiveBigIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_BYTES)]
    )
    covered_bytes = models.PositiveBigIntegerField(default=0)
    overage_bytes = models.PositiveBigIntegerField(default=0)
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
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.bytes} bytes"


class Allocation(models.Model):
    """The part of a usage record drawn from one bucket."""

    record = models.ForeignKey(UsageRecord, on_delete=models.PROTECT, related_name="allocations")
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
