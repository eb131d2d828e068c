"""Importing the carrier's usage export (SPEC §3 ``import_usage``): all or nothing."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from operator import itemgetter
from typing import TextIO

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import MAX_BYTES, Household, Member
from core.db import batch_sizes, collector_paused
from core.errors import Refused
from core.periods import EARLIEST, LATEST, Period
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Terms, Zone
from usage import alerts
from usage.models import UsageRecord
from usage.services.recording import (
    Usage,
    allocate,
    check_against_accounts,
    derive_ref,
    same_content,
)

COLUMNS = ("household", "username", "started_at", "bytes", "zone", "ref")
ZONES = {zone: zone for zone in Zone.values}  # each zone's one shared string
CHUNK = 512
PARSE_SLICE = 5000


class ImportRefused(Exception):
    """The file has bad rows: nothing was imported. ``problems`` lists each of them as
    ``line N: field: reason (value)``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing imported")
        self.problems = problems


@dataclass(slots=True)
class Row:
    line: int
    household: str
    username: str
    started_at: str
    bytes: str
    zone: str
    ref: str


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


class CsvRows:
    """The rows of a usage CSV, read lazily. The header is checked at once (a bad one
    raises ``ImportRefused``); malformed rows are skipped while reading and listed in
    ``problems``."""

    def __init__(self, stream: TextIO) -> None:
        self.reader = csv.reader(stream)
        self.problems: list[str] = []
        try:
            header = next(self.reader)
        except StopIteration:
            raise ImportRefused(["line 1: header: is missing (empty file)"]) from None
        except csv.Error as error:
            raise ImportRefused([f"line 1: header: is not valid CSV ({error})"]) from None
        names = [name.strip().lstrip("\ufeff") for name in header]
        problems = [
            f"line 1: header: unknown column ({name})" for name in names if name not in COLUMNS
        ]
        problems += [
            f"line 1: header: column missing ({name})" for name in COLUMNS if name not in names
        ]
        problems += [
            f"line 1: header: column repeated ({name})"
            for name in sorted(set(names))
            if names.count(name) > 1
        ]
        if problems:
            raise ImportRefused(problems)
        self.width = len(names)
        self.index = [names.index(name) for name in COLUMNS]
        self._rows = self._read()

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        return next(self._rows)

    def _read(self) -> Iterator[Row]:
        reader, width, pick = self.reader, self.width, itemgetter(*self.index)
        try:
            for values in reader:
                if len(values) != width:
                    if any(value.strip() for value in values):  # blank lines carry nothing
                        self.problems.append(
                            f"line {reader.line_num}: row: has {len(values)} fields, the "
                            f"header has {width} ({','.join(values)[:60]})"
                        )
                    continue
                if "\x00" in "".join(values):
                    text = ",".join(values).replace("\x00", "\\0")[:60]
                    self.problems.append(
                        f"line {reader.line_num}: row: contains a NUL character ({text})"
                    )
                    continue
                values = [value.strip() for value in values]
                if any(values):
                    yield Row(reader.line_num, *pick(values))
        except csv.Error as error:
            self.problems.append(f"line {reader.line_num}: row: is not valid CSV ({error})")


def read_rows(stream: TextIO) -> CsvRows:
    """The rows of a usage CSV, read as they are needed (see ``CsvRows``)."""
    return CsvRows(stream)


@dataclass(slots=True, eq=False)
class MemberFacts:
    """What the import reads of a member, without a model instance: a file may name tens
    of thousands of members, and a model instance costs twenty times as much. Records,
    caps and alerts take it where they take a ``Member``."""

    pk: int
    household_id: int
    username: str
    active: bool
    role: str
    display_name: str
    monthly_cap_bytes: int | None
    cap_action: str

    @property
    def name(self) -> str:
        return self.display_name or self.username


# The fields of ``MemberFacts`` in the database, after the primary key.
MEMBER_FIELDS = (
    "household_id",
    "user__username",
    "active",
    "role",
    "display_name",
    "monthly_cap_bytes",
    "cap_action",
)


def _members_of(household_ids: list[int]) -> Iterator[MemberFacts]:
    for start in range(0, len(household_ids), CHUNK):
        page = household_ids[start : start + CHUNK]
        for values in (
            Member.objects.filter(household_id__in=page)
            .order_by()
            .values_list("pk", *MEMBER_FIELDS)
        ):
            yield MemberFacts(*values)


def _look_up(chunk: list[Row], households: dict, members: dict) -> None:
    """Fetch the households and members that ``chunk`` names and were not seen yet."""
    slugs = {row.household for row in chunk} - households.keys()
    if not slugs:
        return
    found = {h.slug: h for h in Household.objects.filter(slug__in=slugs)}
    for slug in slugs:
        households[slug] = found.get(slug)
    for member in _members_of([h.pk for h in found.values()]):
        members[member.household_id, member.username] = member


def _refresh_members(members: dict, household_ids: list[int]) -> dict[int, list[MemberFacts]]:
    """Bring the members looked up while the file was read up to date (the households
    are locked now) and return the active ones by household, for the alerts. A member
    deleted or moved since counts as inactive, so none of its rows is recorded."""
    current = {member.pk: member for member in _members_of(household_ids)}
    active = defaultdict(list)
    for member in members.values():
        latest = current.get(member.pk)
        if latest is None or latest.household_id != member.household_id:
            member.active = False
            continue
        for name in MemberFacts.__slots__:
            setattr(member, name, getattr(latest, name))
        if member.active:
            active[member.household_id].append(member)
    return active


def _parse(row: Row, members: dict, households: dict) -> Usage | None:
    """Turn one row into a ``Usage``, or None if anything is wrong with it (``_problems``
    says what). The checks are cheap ones first: this runs for every row of a file."""
    household = households.get(row.household)
    member = members.get((household.id, row.username)) if household is not None else None
    try:
        started_at = datetime.fromisoformat(row.started_at)
    except ValueError:
        return None
    amount, zone = _amount(row.bytes), ZONES.get(row.zone)
    if (
        member is None
        or zone is None
        or started_at.utcoffset() is None
        or not EARLIEST <= started_at < LATEST
        or amount is None
        or not 1 <= amount <= MAX_BYTES
        or len(row.ref) > 200
    ):
        return None
    ref = row.ref or derive_ref(
        username=row.username, started_at=started_at, bytes=amount, zone=zone
    )
    return Usage(
        member=member, started_at=started_at, bytes=amount, zone=zone, ref=ref, line=row.line
    )


def _amount(digits: str) -> int | None:
    """The number written in plain ASCII digits, or None. A number too long for any plan
    counts as one byte over the largest (``int`` refuses thousands of digits)."""
    if not (digits.isascii() and digits.isdigit()):
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 14 else MAX_BYTES + 1


def _problems(row: Row, members: dict, households: dict) -> list[str]:
    """Every problem of a row that ``_parse`` turned down, as ``line N: field: reason
    (value)``."""
    problems = []

    def refuse(field_name: str, reason: str, value: str) -> None:
        problems.append(f"line {row.line}: {field_name}: {reason} ({value})")

    household = households.get(row.household)  # None: no such household
    if household is None:
        refuse("household", "no such household", row.household)
    elif (household.pk, row.username) not in members:
        refuse("username", f"is not a member of household {household.slug}", row.username)
    started_at = None
    try:
        started_at = datetime.fromisoformat(row.started_at)
    except ValueError:
        refuse("started_at", "must be an ISO 8601 date and time", row.started_at)
    if started_at is not None and timezone.is_naive(started_at):
        refuse("started_at", "must include a UTC offset", row.started_at)
    elif started_at is not None and not EARLIEST <= started_at < LATEST:
        refuse("started_at", "must be from the year 1900 to 8999", row.started_at)
    amount = _amount(row.bytes)
    if amount is None:
        refuse("bytes", "must be plain digits", row.bytes)
    elif not 1 <= amount <= MAX_BYTES:
        refuse("bytes", "must be from 1 to 10^13 bytes", row.bytes[:40])
    if row.zone not in ZONES:
        refuse("zone", "must be one of " + ", ".join(ZONES), row.zone)
    if len(row.ref) > 200:
        refuse("ref", "must be at most 200 characters", row.ref[:40] + "…")
    return problems


def import_usage(
    rows: Iterable[Row], *, dry_run: bool = False, now: datetime | None = None
) -> ImportReport:
    """Validate every row, then record them all in one transaction, or nothing.

    Rows whose ``ref`` was already recorded (or appears earlier in the file) with the
    same content are skipped and counted; with other content they are refused. With
    ``dry_run`` the whole import runs and is rolled back, so the report is exact.
    ``rows`` is read once, a few thousand at a time (households and members are looked
    up per slice), so a large file is never held twice in memory.
    """
    with collector_paused():
        return _import(rows, dry_run=dry_run, now=now or timezone.now())


def _import(rows: Iterable[Row], *, dry_run: bool, now: datetime) -> ImportReport:
    households: dict[str, Household] = {}
    members: dict[tuple[int, str], MemberFacts] = {}
    problems: list[str] = []
    usages: list[Usage] = []
    rows = iter(rows)
    while chunk := list(islice(rows, PARSE_SLICE)):
        _look_up(chunk, households, members)
        for row in chunk:
            if (usage := _parse(row, members, households)) is not None:
                usages.append(usage)
            else:
                problems += _problems(row, members, households)
    problems += getattr(rows, "problems", [])
    households = {slug: h for slug, h in households.items() if h is not None}

    report = ImportReport(dry_run=dry_run)
    with transaction.atomic(durable=True):
        locked = {
            h.pk: h for h in plan_services.lock_households([h.pk for h in households.values()])
        }
        active = _refresh_members(members, list(locked))
        fresh, report.duplicates = _check_accounts(usages, locked, now, problems)
        if problems:
            raise ImportRefused(sorted(problems, key=lambda p: int(p.split()[1].rstrip(":"))))
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
        if dry_run:
            transaction.set_rollback(True)
    return report


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
                if not same_content(record, usage):
                    raise Refused("ref", "was already recorded with different content", ref)
                duplicates += 1
                continue
            if (twin := earlier.get(ref)) is not None:
                if not same_content(twin, usage):
                    raise Refused("ref", f"is used on line {twin.line} with different content", ref)
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
    """The records already stored under the (household, ref) pairs of ``usages``.

    One probe per few hundred pairs through the unique (household, ref) index, in plain
    SQL (the ORM would prepare each of hundreds of thousands of values); only the
    records found, few unless a file is replayed, are loaded as models."""
    table = connection.ops.quote_name(UsageRecord._meta.db_table)
    pairs = list({(u.household_id, u.ref) for u in usages})
    found, start = [], 0
    with connection.cursor() as cursor:
        for size in batch_sizes(len(pairs), CHUNK):
            values = ",".join(["(CAST(%s AS BIGINT),CAST(%s AS TEXT))"] * size)
            cursor.execute(
                f"WITH wanted (household_id, ref) AS (VALUES {values}) "  # noqa: S608 - no input in the SQL text
                f"SELECT record.id FROM wanted JOIN {table} record "
                "ON record.household_id = wanted.household_id AND record.ref = wanted.ref",
                [value for pair in pairs[start : start + size] for value in pair],
            )
            found += [pk for (pk,) in cursor.fetchall()]
            start += size
    recorded = {}
    for start in range(0, len(found), CHUNK):
        for record in UsageRecord.objects.filter(pk__in=found[start : start + CHUNK]):
            recorded[record.household_id, record.ref] = record
    return recorded
