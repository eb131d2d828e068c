"""Add-on packs and bonuses (SPEC R2)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import MAX_BYTES, Household
from accounts.services import fix_calendar
from core.errors import Refused
from core.problems import bytes_problem, choice_problem
from plans import rules, selectors
from plans.models import Bucket, LedgerEntry, Zone
from plans.services.checks import (
    as_aware,
    refuse,
    refuse_before_start,
    refuse_closed,
    require_plan,
)
from plans.services.closing import close_lazily
from plans.services.ledger import grant_entries, new_bucket, write_entries
from plans.services.locks import lock_household
from plans.services.opening import open_periods


def grant(
    household: Household,
    *,
    kind: str,
    zone: str,
    bytes: int,
    at: datetime | None = None,
    expires_at: datetime | None = None,
    note: str = "",
    rolls_over: bool = False,
    now: datetime | None = None,
) -> Bucket:
    """SPEC R2: grant an add-on or bonus, valid from ``at`` (default now) until
    ``expires_at`` (default the end of the period containing ``at``). Like usage, it
    first closes the earlier periods whose grace has passed (R4.6). R11: a domestic
    pack may roll over with the monthly data (``rolls_over``)."""
    now = now or timezone.now()
    refuse(choice_problem("kind", kind, [Bucket.Kind.ADDON, Bucket.Kind.BONUS]))
    refuse(choice_problem("zone", zone, list(Zone.values)))
    refuse(bytes_problem("bytes", bytes, minimum=1, maximum=MAX_BYTES))
    refuse(rules.rolls_over_problem(zone, rolls_over))
    if len(note) > 200:
        raise Refused("note", "must be at most 200 characters", note[:40] + "…")
    at = as_aware(household, at or now, "at")
    period = household.period_of(at)
    refuse_before_start(household, period, "at", at)
    if expires_at is not None:
        expires_at = as_aware(household, expires_at, "expires_at")
    spec = rules.pack_bucket(
        household.calendar,
        kind=kind,
        zone=zone,
        bytes=bytes,
        at=at,
        expires_at=expires_at,
        note=note,
        rolls_over=rolls_over,
    )
    refuse(rules.date_range_problem("expires_at", spec.expires_at))
    refuse(rules.expiry_problem(spec.valid_from, spec.expires_at))
    with transaction.atomic(durable=True):
        household = lock_household(household)
        require_plan(household)
        refuse_closed(period, selectors.last_closed(household), "at", at)
        close_lazily(household, before=period, now=now)
        open_periods(household, period)
        bucket = new_bucket(household.pk, spec, created_at=now)
        bucket.save()
        write_entries(grant_entries([bucket]))
        fix_calendar([household.pk])
    return bucket


def extend_expiry(
    bucket: Bucket, *, expires_at: datetime, note: str = "", now: datetime | None = None
) -> Bucket:
    """Move a rollover bucket's expiry later (a promotion). Moves no byte; the ledger
    records the change. Refused for a bucket that has already expired."""
    now = now or timezone.now()
    household = bucket.household
    expires_at = as_aware(household, expires_at, "expires_at")
    with transaction.atomic(durable=True):
        household = lock_household(household)
        bucket = Bucket.objects.get(pk=bucket.pk)
        if bucket.kind != Bucket.Kind.ROLLOVER:
            raise Refused("bucket", "only a rollover bucket's expiry can be extended", bucket.pk)
        closed = selectors.last_closed(household)
        gone = bucket.expires_at <= now or (
            closed is not None and bucket.expires_at <= household.calendar.end(closed)
        )
        if gone:
            raise Refused("bucket", "has already expired", bucket.expires_at.isoformat())
        if expires_at <= bucket.expires_at:
            raise Refused(
                "expires_at",
                f"must be after the current expiry {bucket.expires_at.isoformat()}",
                expires_at.isoformat(),
            )
        zone = household.calendar.zone
        text = (
            f"expiry moved from {bucket.expires_at.astimezone(zone).isoformat()} "
            f"to {expires_at.astimezone(zone).isoformat()}"
        )
        LedgerEntry.objects.create(
            household=household,
            bucket=bucket,
            kind=LedgerEntry.Kind.EXTENSION,
            at=now,
            note=(f"{note}: {text}" if note else text)[:200],
        )
        bucket.expires_at = expires_at
        bucket.save(update_fields=["expires_at"])
    return bucket
