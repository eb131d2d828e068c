"""Recording usage and allocating it to buckets (SPEC R3, R5).

``allocate`` is the one place where usage meets buckets: a single manual entry and a
carrier import of many rows both go through it, under the household lock.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import MAX_BYTES, Household, Member
from accounts.services import fix_calendar
from core.db import insert_rows
from core.errors import Refused, require_bytes, require_choice
from core.periods import Period
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry, Zone
from usage import alerts
from usage.models import Allocation, UsageRecord

FUTURE_TOLERANCE = timedelta(minutes=5)
BATCH_SIZE = 1000


@dataclass(slots=True)
class Usage:
    """One usage record to be recorded (validated input). ``member`` is a ``Member``, or
    the lighter ``MemberFacts`` of an import, with the same attributes."""

    member: Member
    started_at: datetime
    bytes: int
    zone: str
    ref: str
    line: int = 0  # where it came from, for imports
    period: Period | None = None  # the period of started_at, once worked out
    member_id: int = field(init=False)
    household_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.member_id, self.household_id = self.member.pk, self.member.household_id


def derive_ref(*, username: str, started_at: datetime, bytes: int, zone: str) -> str:
    """A stable ``ref`` for a record that came without one: the same content (SPEC §1)
    always gives the same ref, so a replayed entry is recognised."""
    instant = started_at.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{username}|{instant}|{bytes}|{zone}".encode()).hexdigest()
    return f"auto-{digest[:32]}"


def check_input(*, bytes: object, zone: object, ref: object) -> None:
    """SPEC R5, the checks that need no database."""
    require_bytes("bytes", bytes, minimum=1, maximum=MAX_BYTES)
    require_choice("zone", zone, list(Zone.values))
    if ref is not None and (not isinstance(ref, str) or not 1 <= len(ref) <= 200):
        raise Refused("ref", "must be text of 1 to 200 characters", ref)


def same_content(one: UsageRecord | Usage, other: UsageRecord | Usage) -> bool:
    """SPEC §1: same member, same instant (whatever the offset), bytes and zone."""
    return (
        one.member_id == other.member_id
        and one.started_at == other.started_at
        and one.bytes == other.bytes
        and one.zone == other.zone
    )


def check_against_accounts(
    household: Household, usage: Usage, *, now: datetime, last_closed
) -> None:
    """SPEC R5, the checks against the household's state (after the ref check)."""
    member, at = usage.member, usage.started_at
    if member.household_id != household.id:
        raise Refused("member", f"is not in household {household.slug}", member.username)
    if not member.active:
        raise Refused("member", "is not active", member.username)
    if at > now + FUTURE_TOLERANCE:
        raise Refused("started_at", "is more than 5 minutes in the future", at.isoformat())
    period = usage.period = household.period_of(at)
    plan_services.refuse_before_start(household, period, "started_at", at)
    plan_services.refuse_closed(period, last_closed, "started_at", at)


class Recorded(NamedTuple):
    """A usage record as written (light enough for imports of many thousand rows)."""

    id: int | None
    household_id: int
    member_id: int
    ref: str
    started_at: datetime
    period: str
    zone: str
    bytes: int
    covered_bytes: int
    overage_bytes: int
    recorded_at: datetime


class Draw(NamedTuple):
    bucket: Bucket
    bytes: int


def draw(
    buckets: list[Bucket], bytes: int, *, at: datetime | None = None, limit: int | None = None
) -> tuple[list[Draw], int]:
    """SPEC R3.3–R3.4: take ``bytes`` greedily from ``buckets`` (already in allocation
    order) that are valid at ``at`` (when given), covering at most ``limit`` bytes when
    a blocking cap applies. Returns the draws and the overage, and updates the buckets'
    balances in memory. (This runs once per usage record of an import: kept lean.)"""
    wanted = bytes if limit is None or limit > bytes else limit
    covered = wanted
    draws = []
    for bucket in buckets:
        if not wanted:
            break
        if at is not None and not bucket.valid_from <= at < bucket.expires_at:
            continue
        left = bucket.left_bytes
        if left is None:
            take = wanted
        elif left:
            take = wanted if wanted < left else left
            bucket.left_bytes = left - take
        else:
            continue
        bucket.allocated_bytes += take
        draws.append(Draw(bucket, take))
        wanted -= take
    return draws, bytes - covered + wanted


def cap_rooms(members: list[Member], period_key: str) -> dict[int, int]:
    """SPEC R3.3: how much more the pool may still cover for each member with a blocking
    cap in the period (all zones, all kinds of bucket)."""
    blocking = [
        m
        for m in members
        if m.cap_action == Member.CapAction.BLOCK and m.monthly_cap_bytes is not None
    ]
    if not blocking:
        return {}
    covered = dict(
        UsageRecord.objects.filter(member_id__in=[m.pk for m in blocking], period=period_key)
        .values("member_id")
        .annotate(total=Sum("covered_bytes"))
        .values_list("member_id", "total")
    )
    return {m.pk: max(0, m.monthly_cap_bytes - (covered.get(m.pk) or 0)) for m in blocking}


def allocate(usages: dict[Household, list[Usage]], *, now: datetime) -> list[Recorded]:
    """Record validated usages of one or more households (each household's given in file
    order), in time order with file order for equal times (SPEC R3.5), each against the
    buckets eligible at its own instant (R3). The caller holds the households' locks.

    Period by period: earlier periods whose grace has passed are closed first (R4.6),
    the period is opened (R1), then its usage is allocated and written, for all the
    households at once.
    """
    by_period: dict[Period, dict[Household, list[Usage]]] = defaultdict(dict)
    for household, own in usages.items():
        own = sorted(own, key=attrgetter("started_at"))  # stable: file order kept
        for period, group in groupby(
            own, key=lambda u: u.period or household.period_of(u.started_at)
        ):
            by_period[period][household] = list(group)
    fix_calendar(h.pk for h in usages)
    records = []
    for period in sorted(by_period):
        part = by_period[period]
        households = list(part)
        terms = plan_services.load_terms(households)
        plan_services.close_due(households, now=now, through=period.previous(), terms=terms)
        plan_services.open_through(
            households, dict.fromkeys([h.pk for h in households], period), terms
        )
        records += _allocate_period(part, period, terms, now=now)
    return records


def _allocate_period(part: dict[Household, list[Usage]], period, terms, *, now) -> list[Recorded]:
    households = list(part)
    first = min(own[0].started_at for own in part.values())  # each in time order
    last = max(own[-1].started_at for own in part.values())
    candidates = defaultdict(list)
    for bucket in Bucket.objects.filter(
        Q(left_bytes__gt=0) | Q(left_bytes__isnull=True),
        household__in=households,
        valid_from__lte=last,
        expires_at__gt=first,
    ):
        candidates[bucket.household_id, bucket.zone].append(bucket)
    members = {u.member_id: u.member for own in part.values() for u in own}
    rooms = cap_rooms(list(members.values()), period.key)
    key = period.key
    rows, draws = [], []
    for household, own in part.items():
        order = plan_selectors.terms_in_force(terms[household.pk], period).consumption_order
        ordered = {
            zone: plan_selectors.allocation_order(
                candidates[household.pk, zone], consumption_order=order, zone=zone
            )
            for zone in {u.zone for u in own}
        }
        for usage in own:
            at = usage.started_at
            room = rooms.get(usage.member_id)
            taken, overage = draw(ordered[usage.zone], usage.bytes, at=at, limit=room)
            covered = usage.bytes - overage
            if room is not None:
                rooms[usage.member_id] = room - covered
            rows.append(
                (
                    household.pk,
                    usage.member_id,
                    usage.ref,
                    at,
                    key,
                    usage.zone,
                    usage.bytes,
                    covered,
                    overage,
                    now,
                )
            )
            draws.append(taken)
    ids = _write(rows, draws)
    return [Recorded(pk, *row) for pk, row in zip(ids, rows, strict=True)]


def _write(rows: list[tuple], draws: list[list[Draw]]) -> list[int]:
    """Store records (``Recorded`` fields but the id), their allocations, ledger entries
    and the bucket balances; return the records' ids."""
    ids = insert_rows(UsageRecord, list(Recorded._fields[1:]), rows, returning_ids=True)
    allocations, entries = [], []
    moved = defaultdict(int)
    allocation = LedgerEntry.Kind.ALLOCATION
    for row, pk, taken in zip(rows, ids, draws, strict=True):
        for bucket, bytes in taken:
            allocations.append((pk, bucket.id, bytes))
            entries.append((row[0], bucket.id, allocation, bytes, row[3], pk, row[9]))
            moved[bucket.id] += bytes
    insert_rows(Allocation, ["record", "bucket", "bytes"], allocations)
    insert_rows(
        LedgerEntry,
        ["household", "bucket", "kind", "bytes", "at", "usage_record_id", "created_at"],
        entries,
    )
    plan_services.move_bytes({pk: plan_services.Move(allocated=n) for pk, n in moved.items()})
    return ids


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

    SPEC R5 validation first (a ref already recorded with the same content returns that
    record, with ``replayed`` set), then R4.6 lazy closing, R1 opening and R3 allocation,
    all in one transaction under the household lock.
    """
    now = now or timezone.now()
    check_input(bytes=bytes, zone=zone, ref=ref)
    at = plan_services.as_aware(member.household, at or now, "started_at")
    ref = ref or derive_ref(username=member.username, started_at=at, bytes=bytes, zone=zone)
    usage = Usage(member=member, started_at=at, bytes=bytes, zone=zone, ref=ref)
    try:
        with transaction.atomic(durable=True):
            household = plan_services.lock_household(member.household)
            if replay := _replay(household, usage):
                return replay
            member.refresh_from_db(
                fields=["active", "household", "monthly_cap_bytes", "cap_action"]
            )
            check_against_accounts(
                household, usage, now=now, last_closed=plan_selectors.last_closed(household)
            )
            plan_services.require_plan(household)
            [recorded] = allocate({household: [usage]}, now=now)
            alerts.evaluate(household, now=now, periods=[household.period_of(at)])
            record = UsageRecord(**recorded._asdict())
            record._state.adding = False
    except IntegrityError:
        # Only possible if another writer slipped the same ref in: look it up again.
        if replay := _replay(member.household, usage):
            return replay
        raise
    record.replayed = False
    return record


def _replay(household: Household, usage: Usage) -> UsageRecord | None:
    """SPEC R5: a ref already recorded with the same content is a no-op; with other
    content it is refused."""
    found = UsageRecord.objects.filter(household=household, ref=usage.ref).first()
    if found is None:
        return None
    if not same_content(found, usage):
        raise Refused("ref", "was already recorded with different content", usage.ref)
    found.replayed = True
    return found
