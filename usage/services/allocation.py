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
from plans import rules as plan_rules
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry, Zone
from plans.rules import DOMESTIC, ROAMING
from usage.models import Allocation, UsageRecord
from usage.rules import Draw, cap_room, capped_bytes, draw, draw_from_domestic, fair_use_room


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
    from_domestic_bytes: int
    capped_bytes: int
    beyond_fair_use_bytes: int


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


def fair_use_rooms(members: list[Member], period_key: str, volumes: dict) -> dict[int, int]:
    """SPEC R10: how much more of the domestic pool each member's roaming may still draw
    in the period, for the members of households (``volumes``: household id to its
    fair-use volume) whose terms set one."""
    limited = {m.pk: m for m in members if volumes.get(m.household_id) is not None}
    if not limited:
        return {}
    used = dict(
        UsageRecord.objects.filter(
            member_id__in=list(limited), period=period_key, zone=Zone.ROAMING
        )
        .values("member_id")
        .annotate(total=Sum("from_domestic_bytes"))
        .values_list("member_id", "total")
    )
    return {
        pk: fair_use_room(volumes[m.household_id], used.get(pk) or 0) for pk, m in limited.items()
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
    members = list({u.member_id: u.member for own in part.values() for u in own}.values())
    in_force = {h.pk: plan_selectors.terms_in_force(terms[h.pk], period) for h in part}
    volumes = {
        pk: t.roaming_fair_use_bytes
        for pk, t in in_force.items()
        if plan_rules.roams_from_domestic(t)
    }
    rooms = cap_rooms(members, period.key)
    fair_rooms = fair_use_rooms(members, period.key, volumes)
    key = period.key
    rows, draws = [], []
    for household, own, ordered in _ordered_buckets(part, in_force):
        from_domestic = household.pk in volumes
        for usage in own:
            at, amount, member_id = usage.started_at, usage.bytes, usage.member_id
            room = rooms.get(member_id)
            if from_domestic and usage.zone == ROAMING:
                fair = fair_rooms.get(member_id)
                taken, overage, domestic, beyond = draw_from_domestic(
                    ordered[ROAMING], ordered[DOMESTIC], amount, at=at, limit=room, fair_use=fair
                )
                if fair is not None:
                    fair_rooms[member_id] = fair - domestic
            else:
                taken, overage = draw(ordered[usage.zone], amount, at=at, limit=room)
                domestic = beyond = 0
            covered = amount - overage
            if room is not None:
                rooms[member_id] = room - covered
            rows.append(
                NewRecord(
                    household.pk,
                    member_id,
                    usage.ref,
                    at,
                    key,
                    usage.zone,
                    amount,
                    covered,
                    overage,
                    now,
                    domestic,
                    0 if room is None else capped_bytes(amount, room),
                    beyond,
                )
            )
            draws.append(taken)
    ids = _write(rows, draws)
    return [Recorded(pk, *row) for pk, row in zip(ids, rows, strict=True)]


def _ordered_buckets(part: dict[Household, list[Usage]], in_force) -> Iterator[tuple]:
    """Each household, its usages, and per zone the buckets they may draw on in the
    period, in allocation order (SPEC R3.1-R3.2, R7); forfeited buckets never (R9)."""
    first = min(own[0].started_at for own in part.values())  # each in time order
    last = max(own[-1].started_at for own in part.values())
    candidates = defaultdict(list)
    for bucket in Bucket.objects.filter(
        Q(left_bytes__gt=0) | Q(left_bytes__isnull=True),
        household__in=list(part),
        valid_from__lte=last,
        expires_at__gt=first,
        forfeited=False,
    ):
        candidates[bucket.household_id, bucket.zone].append(bucket)
    for household, own in part.items():
        order = in_force[household.pk].consumption_order
        ordered = {
            zone: plan_rules.draw_order(
                candidates[household.pk, zone], consumption_order=order, zone=zone
            )
            for zone in _zones(own, in_force[household.pk])
        }
        yield household, own, ordered


def _zones(own: list[Usage], terms) -> set[str]:
    """The zones whose buckets the usages draw on: their own, and the domestic one for
    roaming under ``from_domestic`` (SPEC R10)."""
    zones = {u.zone for u in own}
    if ROAMING in zones and plan_rules.roams_from_domestic(terms):
        zones.add(DOMESTIC)
    return zones


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
