"""Add-on packs and bonuses (SPEC R2)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.errors import Refused, require_bytes, require_choice
from accounts.models import MAX_BYTES, Household
from plans.models import Bucket, LedgerEntry, Zone
from plans.services.checks import as_aware, refuse_before_start, refuse_closed, require_plan
from plans.services.lifecycle import close_lazily, grant_entries, lock_household, open_periods


def grant(
    household: Household,
    *,
    kind: str,
    zone: str,
    bytes: int,
    at: datetime | None = None,
    expires_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Bucket:
    """SPEC R2: grant an add-on or bonus, valid from ``at`` (default now) until
    ``expires_at`` (default the end of the period containing ``at``). Like usage, it
    first closes the earlier periods whose grace has passed (R4.6)."""
    now = now or timezone.now()
    require_choice("kind", kind, [Bucket.Kind.ADDON, Bucket.Kind.BONUS])
    require_choice("zone", zone, list(Zone.values))
    require_bytes("bytes", bytes, minimum=1, maximum=MAX_BYTES)
    if len(note) > 200:
        raise Refused("note", "must be at most 200 characters", note[:40] + "…")
    at = as_aware(household, at or now, "at")
    period = household.period_of(at)
    refuse_before_start(household, period, "at", at)
    if expires_at is None:
        expires_at = household.calendar.end(period)
    expires_at = as_aware(household, expires_at, "expires_at")
    if expires_at <= at:
        raise Refused(
            "expires_at", f"must be after the grant time {at.isoformat()}", expires_at.isoformat()
        )
    with transaction.atomic(durable=True):
        household = lock_household(household)
        require_plan(household)
        refuse_closed(household, period, "at", at)
        close_lazily(household, before=period, now=now)
        open_periods(household, period)
        bucket = Bucket.objects.create(
            household=household,
            kind=kind,
            zone=zone,
            period=period.key,
            granted_bytes=bytes,
            left_bytes=bytes,
            valid_from=at,
            expires_at=expires_at,
            note=note,
        )
        LedgerEntry.objects.bulk_create(grant_entries([bucket]))
    return bucket
