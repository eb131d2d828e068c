"""Allocating usage to buckets (SPEC R3): the shell around ``usage.rules.draw``.

``allocate`` is the one place where usage meets buckets: a single manual entry and a
carrier import of many rows both go through it, under the household lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple

from django.db.models import Q, Sum

from accounts.models import Household, Member
from accounts.services import fix_calendar
from core.db import insert_rows
from core.periods import Period
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry
from usage.models import Allocation, UsageRecord
from usage.rules import Draw, cap_room, draw


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


class NewRecord(NamedTuple):
    """A usage record to write: the columns of ``UsageRecord`` but the id."""

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


# A usage record as written: its id, then the columns of ``NewRecord``.
Recorded = NamedTuple("Recorded", [("id", int), *NewRecord.__annotations__.items()])


class NewAllocation(NamedTuple):
    record: int
    bucket: int
    bytes: int


class NewEntry(NamedTuple):
    """An ``allocation`` ledger entry to write."""

    household: int
    bucket: int
    kind: str
    bytes: int
    at: datetime
    usage_record_id: int
    created_at: datetime


def cap_rooms(members: list[Member], period_key: str) -> dict[int, int]:
    """SPEC R3.3: how much more the pool may still cover for each member with a blocking
    cap in the period (all zones, all kinds of bucket)."""
    blocking = [
        m
        for m in members
        if cap_room(m.monthly_cap_bytes, m.cap_action, 0) is not None  # a blocking cap
    ]
    if not blocking:
        return {}
    covered = dict(
        UsageRecord.objects.filter(member_id__in=[m.pk for m in blocking], period=period_key)
        .values("member_id")
        .annotate(total=Sum("covered_bytes"))
        .values_list("member_id", "total")
    )
    return {
        m.pk: cap_room(m.monthly_cap_bytes, m.cap_action, covered.get(m.pk) or 0) for m in blocking
    }


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
    members = {u.member_id: u.member for own in part.values() for u in own}
    rooms = cap_rooms(list(members.values()), period.key)
    key = period.key
    rows, draws = [], []
    for household, own, ordered in _ordered_buckets(part, period, terms):
        for usage in own:
            at = usage.started_at
            room = rooms.get(usage.member_id)
            taken, overage = draw(ordered[usage.zone], usage.bytes, at=at, limit=room)
            covered = usage.bytes - overage
            if room is not None:
                rooms[usage.member_id] = room - covered
            rows.append(
                NewRecord(
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


def _ordered_buckets(part: dict[Household, list[Usage]], period, terms) -> Iterator[tuple]:
    """Each household, its usages, and per zone the buckets they may draw on in the
    period, in allocation order (SPEC R3.1-R3.2)."""
    first = min(own[0].started_at for own in part.values())  # each in time order
    last = max(own[-1].started_at for own in part.values())
    candidates = defaultdict(list)
    for bucket in Bucket.objects.filter(
        Q(left_bytes__gt=0) | Q(left_bytes__isnull=True),
        household__in=list(part),
        valid_from__lte=last,
        expires_at__gt=first,
    ):
        candidates[bucket.household_id, bucket.zone].append(bucket)
    for household, own in part.items():
        order = plan_selectors.terms_in_force(terms[household.pk], period).consumption_order
        ordered = {
            zone: plan_selectors.allocation_order(
                candidates[household.pk, zone], consumption_order=order, zone=zone
            )
            for zone in {u.zone for u in own}
        }
        yield household, own, ordered


def _write(rows: list[NewRecord], draws: list[list[Draw]]) -> list[int]:
    """Store records, their allocations, ledger entries and the bucket balances; return
    the records' ids."""
    ids = insert_rows(UsageRecord, list(NewRecord._fields), rows, returning_ids=True)
    allocations, entries = [], []
    moved = defaultdict(int)
    allocation = LedgerEntry.Kind.ALLOCATION
    for row, pk, taken in zip(rows, ids, draws, strict=True):
        for bucket, bytes in taken:
            allocations.append(NewAllocation(pk, bucket.id, bytes))
            entries.append(
                NewEntry(
                    row.household_id,
                    bucket.id,
                    allocation,
                    bytes,
                    row.started_at,
                    pk,
                    row.recorded_at,
                )
            )
            moved[bucket.id] += bytes
    insert_rows(Allocation, list(NewAllocation._fields), allocations)
    insert_rows(LedgerEntry, list(NewEntry._fields), entries)
    plan_services.move_bytes({pk: plan_services.Move(allocated=n) for pk, n in moved.items()})
    return ids
