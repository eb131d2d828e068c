"""Importing the carrier's usage export (SPEC §3 ``import_usage``): all or nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.db import transaction
from django.utils import timezone

from accounts.models import MAX_BYTES, Household
from core.db import Key, ids_by_key
from core.errors import Refused
from core.periods import Period
from core.problems import choice_problem
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Terms, Zone
from usage import alerts
from usage.models import UsageRecord
from usage.rules import (
    bytes_problem,
    derive_ref,
    digits_problem,
    instant_problem,
    membership_problem,
    read_amount,
    read_instant,
    replay_problem,
    written_problems,
    written_ref_problem,
)
from usage.services.allocation import Usage, allocate
from usage.services.csv_file import ImportRefused, Row
from usage.services.import_lookup import MemberFacts, look_up, refresh_members
from usage.services.recording import check_against_accounts

ZONES = {zone: zone for zone in Zone.values}  # each zone's one shared string
CHUNK = 512
PARSE_SLICE = 5000


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    bytes_by_household: dict[str, int] = field(default_factory=dict)
    covered_by_household: dict[str, int] = field(default_factory=dict)
    overage_by_household: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def add(self, record, slug: str) -> None:
        self.imported += 1
        for figures, value in (
            (self.bytes_by_household, record.bytes),
            (self.covered_by_household, record.covered_bytes),
            (self.overage_by_household, record.overage_bytes),
        ):
            figures[slug] = figures.get(slug, 0) + value


def _parse(row: Row, members: dict, households: dict) -> Usage | None:
    """Turn one row into a ``Usage``, or None if anything is wrong with it (``_problems``
    says what). This runs for every row of a file."""
    household = households.get(row.household)
    member = members.get((household.id, row.username)) if household is not None else None
    started_at, amount = read_instant(row.started_at), read_amount(row.bytes, MAX_BYTES)
    if (  # the checks of ``written_problems``, stopping at the first
        membership_problem(row.household, row.username, household is not None, member is not None)
        or instant_problem(started_at, row.started_at)
        or digits_problem(amount, row.bytes)
        or bytes_problem(amount, MAX_BYTES, row.bytes[:40])
        or choice_problem("zone", row.zone, ZONES)
        or written_ref_problem(row.ref)
    ):
        return None
    zone = ZONES[row.zone]
    ref = row.ref or derive_ref(
        username=row.username, started_at=started_at, bytes=amount, zone=zone
    )
    return Usage(
        member=member, started_at=started_at, bytes=amount, zone=zone, ref=ref, line=row.line
    )


def _problems(row: Row, members: dict, households: dict) -> list[str]:
    """Every problem of a row that ``_parse`` turned down, as ``line N: field: reason
    (value)``."""
    household = households.get(row.household)  # None: no such household
    problems = written_problems(
        row,
        household=household is not None,
        member=household is not None and (household.pk, row.username) in members,
        at=read_instant(row.started_at),
        amount=read_amount(row.bytes, MAX_BYTES),
        most=MAX_BYTES,
        zones=ZONES,
    )
    return [f"line {row.line}: {problem}" for problem in problems]


def import_usage(
    rows: Iterable[Row], *, dry_run: bool = False, now: datetime | None = None
) -> ImportReport:
    """Validate every row, then record them all in one transaction, or nothing.

    Rows whose ``ref`` was already recorded (or appears earlier in the file) with the
    same content are skipped and counted; with other content they are refused. With
    ``dry_run`` the whole import runs and is rolled back, so the report is exact.
    ``rows`` is read once, a slice at a time (households and members are looked up per
    slice).
    """
    now = now or timezone.now()
    usages, households, members, problems = _read(rows)
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic(durable=True):
        locked = {
            h.pk: h for h in plan_services.lock_households([h.pk for h in households.values()])
        }
        active = refresh_members(members, list(locked))
        fresh, report.duplicates = _check_accounts(usages, locked, now, problems)
        if problems:
            raise ImportRefused(sorted(problems, key=lambda p: int(p.split()[1].rstrip(":"))))
        _record(fresh, locked, active, report, now=now)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _read(rows: Iterable[Row]) -> tuple[list[Usage], dict, dict, list[str]]:
    """The usages of ``rows``, the households (by slug) and members (by household and
    username) they name, and the problems of the rows that are wrong as written."""
    households: dict[str, Household | None] = {}
    members: dict[tuple[int, str], MemberFacts] = {}
    problems: list[str] = []
    usages: list[Usage] = []
    rows = iter(rows)
    while chunk := list(islice(rows, PARSE_SLICE)):
        look_up(chunk, households, members)
        for row in chunk:
            if (usage := _parse(row, members, households)) is not None:
                usages.append(usage)
            else:
                problems += _problems(row, members, households)
    problems += getattr(rows, "problems", [])
    known = {slug: h for slug, h in households.items() if h is not None}
    return usages, known, members, problems


def _record(fresh: list[Usage], locked: dict, active: dict, report, *, now: datetime) -> None:
    """Allocate and write ``fresh`` usages a few hundred households at a time, and
    record the alerts they call for."""
    by_household = defaultdict(list)
    for usage in fresh:
        by_household[usage.household_id].append(usage)
    ids = list(by_household)
    for start in range(0, len(ids), CHUNK):
        chunk = {locked[pk]: by_household[pk] for pk in ids[start : start + CHUNK]}
        touched = defaultdict(set)
        for record in allocate(chunk, now=now):
            report.add(record, locked[record.household_id].slug)
            touched[record.household_id].add(record.period)
        alerts.evaluate_many(
            {locked[pk]: sorted(map(Period.parse, keys)) for pk, keys in touched.items()},
            now=now,
            members=active,
        )


def _check_accounts(usages: list[Usage], households: dict, now, problems: list[str]):
    """SPEC R5 against the recorded state: replays, refs, members, times, closes."""
    recorded = _recorded(usages)
    closed = plan_selectors.last_closed_many(list(households.values()))
    planned = set(
        Terms.objects.filter(household__in=households).values_list("household_id", flat=True)
    )
    seen: dict[int, dict[str, Usage]] = defaultdict(dict)  # household -> ref -> usage
    fresh, duplicates = [], 0
    for usage in usages:  # in file order
        pk, ref = usage.household_id, usage.ref
        household, earlier = households[pk], seen[pk]
        try:
            if (record := recorded.get((pk, ref))) is not None:
                if problem := replay_problem(record, usage):
                    raise Refused.of(problem)
                duplicates += 1
                continue
            if (twin := earlier.get(ref)) is not None:
                if problem := replay_problem(twin, usage, line=twin.line):
                    raise Refused.of(problem)
                duplicates += 1
                continue
            check_against_accounts(household, usage, now=now, last_closed=closed[pk])
            if pk not in planned:
                raise Refused("household", "has no plan yet", household.slug)
        except Refused as error:
            problems.append(f"line {usage.line}: {error}")
            continue
        earlier[ref] = usage
        fresh.append(usage)
    return fresh, duplicates


def _recorded(usages: list[Usage]) -> dict[tuple[int, str], UsageRecord]:
    """The records already stored under the (household, ref) pairs of ``usages``."""
    keys = list({Key(u.household_id, u.ref) for u in usages})
    found = ids_by_key(UsageRecord, ("household", "ref"), keys, batch=CHUNK)
    recorded = {}
    for start in range(0, len(found), CHUNK):
        for record in UsageRecord.objects.filter(pk__in=found[start : start + CHUNK]):
            recorded[record.household_id, record.ref] = record
    return recorded
