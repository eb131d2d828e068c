"""Recording usage and allocating it to buckets (SPEC R3, R5)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.errors import Refused, require_bytes, require_choice
from accounts.models import MAX_BYTES, Member
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry, Zone
from usage.models import Allocation, UsageRecord

FUTURE_TOLERANCE = timedelta(minutes=5)


def derive_ref(*, username: str, started_at: datetime, bytes: int, zone: str) -> str:
    """A stable ``ref`` for a record that came without one: the same content (SPEC §1)
    always gives the same ref, so a replayed entry is recognised."""
    instant = started_at.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{username}|{instant}|{bytes}|{zone}".encode()).hexdigest()
    return f"auto-{digest[:32]}"


@dataclass(frozen=True)
class Draw:
    bucket: Bucket
    bytes: int


def draw(buckets: list[Bucket], bytes: int, *, limit: int | None = None) -> tuple[list[Draw], int]:
    """SPEC R3.3–R3.4: take ``bytes`` greedily from ``buckets`` (already in allocation
    order), covering at most ``limit`` bytes when a blocking cap applies. Returns the
    draws and the overage. Updates the buckets' balances in memory."""
    wanted = bytes if limit is None else min(bytes, limit)
    draws = []
    for bucket in buckets:
        if wanted == 0:
            break
        take = wanted if bucket.left_bytes is None else min(wanted, bucket.left_bytes)
        if take == 0:
            continue
        if bucket.left_bytes is not None:
            bucket.left_bytes -= take
        bucket.allocated_bytes += take
        draws.append(Draw(bucket, take))
        wanted -= take
    covered = sum(d.bytes for d in draws)
    return draws, bytes - covered


def cap_room(member: Member, period_key: str) -> int | None:
    """SPEC R3.3: how much more the pool may cover for a member with a blocking cap."""
    if member.cap_action != Member.CapAction.BLOCK or member.monthly_cap_bytes is None:
        return None
    covered = (
        UsageRecord.objects.filter(member=member, period=period_key).aggregate(
            total=Sum("covered_bytes")
        )["total"]
        or 0
    )
    return max(0, member.monthly_cap_bytes - covered)


def _existing(member: Member, ref: str, *, started_at: datetime, bytes: int, zone: str):
    """SPEC R5: a ref already recorded with the same content is a no-op; with other
    content it is refused."""
    found = UsageRecord.objects.filter(household_id=member.household_id, ref=ref).first()
    if found is None:
        return None
    if not found.same_content(member_id=member.pk, started_at=started_at, bytes=bytes, zone=zone):
        raise Refused("ref", "was already recorded with different content", ref)
    found.replayed = True
    return found


def record_usage(
    member: Member,
    *,
    bytes: int,
    zone: str = Zone.DOMESTIC,
    at: datetime | None = None,
    ref: str | None = None,
    now: datetime | None = None,
) -> UsageRecord:
    """Record ``bytes`` used by ``member`` at ``at`` (default now) and allocate them.

    SPEC R5 validation, then R4.6 lazy closing of earlier periods whose grace has
    passed, R1 opening, and R3 allocation, all in one transaction under the
    household lock. A replay of an identical ``ref`` returns the recorded row with
    ``replayed`` set.
    """
    now = now or timezone.now()
    household = member.household
    require_bytes("bytes", bytes, minimum=1, maximum=MAX_BYTES)
    require_choice("zone", zone, list(Zone.values))
    at = plan_services.as_aware(household, at or now, "started_at")
    ref = ref or derive_ref(username=member.username, started_at=at, bytes=bytes, zone=zone)
    if len(ref) > 200:
        raise Refused("ref", "must be at most 200 characters", ref[:40] + "…")
    try:
        return _record(member, bytes=bytes, zone=zone, at=at, ref=ref, now=now)
    except IntegrityError:
        # Another writer recorded the same ref between our check and our insert.
        replay = _existing(member, ref, started_at=at, bytes=bytes, zone=zone)
        if replay is None:
            raise
        return replay


def _record(member: Member, *, bytes: int, zone: str, at: datetime, ref: str, now: datetime):
    with transaction.atomic(durable=True):
        household = plan_services.lock_household(member.household)
        replay = _existing(member, ref, started_at=at, bytes=bytes, zone=zone)
        if replay is not None:
            return replay
        member.refresh_from_db(fields=["active", "household", "monthly_cap_bytes", "cap_action"])
        if member.household_id != household.pk:
            raise Refused("member", "belongs to another household", member.username)
        if not member.active:
            raise Refused("member", "is not active", member.username)
        if at > now + FUTURE_TOLERANCE:
            raise Refused("started_at", "is more than 5 minutes in the future", at.isoformat())
        period = household.period_of(at)
        plan_services.refuse_before_start(household, period, "started_at", at)
        plan_services.require_plan(household)
        plan_services.refuse_closed(household, period, "started_at", at)
        plan_services.close_lazily(household, before=period, now=now)
        plan_services.open_periods(household, period)
        terms = plan_selectors.terms_for(household, period)
        buckets = plan_selectors.allocation_order(
            plan_selectors.eligible_buckets(household, at, zone),
            consumption_order=terms.consumption_order,
            zone=zone,
        )
        draws, overage = draw(buckets, bytes, limit=cap_room(member, period.key))
        record = UsageRecord.objects.create(
            household=household,
            member=member,
            ref=ref,
            started_at=at,
            period=period.key,
            zone=zone,
            bytes=bytes,
            covered_bytes=bytes - overage,
            overage_bytes=overage,
            recorded_at=now,
        )
        write_draws(record, draws)
    record.replayed = False
    return record


def write_draws(record: UsageRecord, draws: list[Draw]) -> None:
    """Store a record's allocations, their ledger entries and the bucket balances."""
    Allocation.objects.bulk_create(
        [Allocation(record=record, bucket=d.bucket, bytes=d.bytes) for d in draws]
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                household_id=record.household_id,
                bucket=d.bucket,
                kind=LedgerEntry.Kind.ALLOCATION,
                bytes=d.bytes,
                at=record.started_at,
                usage_record_id=record.pk,
            )
            for d in draws
        ]
    )
    for d in draws:
        Bucket.objects.filter(pk=d.bucket.pk).update(
            allocated_bytes=F("allocated_bytes") + d.bytes, left_bytes=F("left_bytes") - d.bytes
        )
