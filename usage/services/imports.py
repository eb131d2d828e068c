"""Importing the carrier's usage export (SPEC §3 ``import_usage``): all or nothing."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from accounts.errors import Refused
from accounts.models import MAX_BYTES, Household, Member
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Terms, Zone
from plans.periods import Period
from plans.services.checks import EARLIEST, LATEST
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
_DIGITS = re.compile(r"[0-9]+")
CHUNK = 500
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
        reader = self.reader
        try:
            for values in reader:
                if not values or all(not v.strip() for v in values):
                    continue  # blank lines carry nothing
                if len(values) != self.width:
                    self.problems.append(
                        f"line {reader.line_num}: row: has {len(values)} fields, the header "
                        f"has {self.width} ({','.join(values)[:60]})"
                    )
                    continue
                if any("\x00" in value for value in values):
                    text = ",".join(values).replace("\x00", "\\0")[:60]
                    self.problems.append(
                        f"line {reader.line_num}: row: contains a NUL character ({text})"
                    )
                    continue
                yield Row(reader.line_num, *(values[i].strip() for i in self.index))
        except csv.Error as error:
            self.problems.append(f"line {reader.line_num}: row: is not valid CSV ({error})")


def read_rows(stream: TextIO) -> CsvRows:
    """The rows of a usage CSV, read as they are needed (see ``CsvRows``)."""
    return CsvRows(stream)


def _look_up(chunk: list[Row], households: dict, members: dict) -> None:
    """Fetch the households and members that ``chunk`` names and were not seen yet."""
    slugs = {row.household for row in chunk} - households.keys()
    if not slugs:
        return
    found = {h.slug: h for h in Household.objects.filter(slug__in=slugs)}
    for slug in slugs:
        households[slug] = found.get(slug)
    for member in Member.objects.filter(household__in=found.values()).select_related(
        "user", "household"
    ):
        members[member.household_id, member.user.username] = member


def _parse(row: Row, members: dict, households: dict) -> tuple[Usage | None, list[str]]:
    """Turn one row into a ``Usage``; list every problem of the row otherwise."""
    problems = []

    def refuse(field_name: str, reason: str, value: str) -> None:
        problems.append(f"line {row.line}: {field_name}: {reason} ({value})")

    household = households.get(row.household)  # None: no such household
    member = None
    if household is None:
        refuse("household", "no such household", row.household)
    else:
        member = members.get((household.pk, row.username))
        if member is None:
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
    amount = None
    if not _DIGITS.fullmatch(row.bytes):
        refuse("bytes", "must be plain digits", row.bytes)
    else:
        amount = int(row.bytes)
        if not 1 <= amount <= MAX_BYTES:
            refuse("bytes", "must be from 1 to 10^13 bytes", row.bytes)
    if row.zone not in Zone.values:
        refuse("zone", "must be one of " + ", ".join(Zone.values), row.zone)
    if len(row.ref) > 200:
        refuse("ref", "must be at most 200 characters", row.ref[:40] + "…")
    if problems:
        return None, problems
    ref = row.ref or derive_ref(
        username=row.username, started_at=started_at, bytes=amount, zone=row.zone
    )
    usage = Usage(
        member=member,
        started_at=started_at,
        bytes=amount,
        zone=Zone(row.zone).value,  # the one shared string
        ref=ref,
        line=row.line,
    )
    return usage, []


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
    now = now or timezone.now()
    households: dict[str, Household] = {}
    members: dict[tuple[int, str], Member] = {}
    problems: list[str] = []
    usages: list[Usage] = []
    rows = iter(rows)
    while chunk := list(islice(rows, PARSE_SLICE)):
        _look_up(chunk, households, members)
        for row in chunk:
            usage, row_problems = _parse(row, members, households)
            problems += row_problems
            if usage is not None:
                usages.append(usage)
    problems += getattr(rows, "problems", [])
    households = {slug: h for slug, h in households.items() if h is not None}

    report = ImportReport(dry_run=dry_run)
    with transaction.atomic(durable=True):
        locked = {
            h.pk: h for h in plan_services.lock_households([h.pk for h in households.values()])
        }
        fresh, report.duplicates = _check_accounts(usages, locked, now, problems)
        if problems:
            raise ImportRefused(sorted(problems, key=lambda p: int(p.split()[1].rstrip(":"))))
        by_household = defaultdict(list)
        for usage in fresh:
            by_household[locked[usage.member.household_id]].append(usage)
        households = list(by_household)
        for start in range(0, len(households), CHUNK):
            chunk = {h: by_household[h] for h in households[start : start + CHUNK]}
            touched = defaultdict(set)
            for record in allocate(chunk, now=now):
                report.add(record, locked[record.household_id].slug)
                touched[record.household_id].add(record.period)
            alerts.evaluate_many(
                {locked[pk]: sorted(map(Period.parse, keys)) for pk, keys in touched.items()},
                now=now,
            )
        if dry_run:
            transaction.set_rollback(True)
    return report


def _check_accounts(usages: list[Usage], households: dict, now, problems: list[str]):
    """SPEC R5 against the recorded state: replays, refs, members, times, closes."""
    recorded = {}
    for start in range(0, len(usages), CHUNK):
        refs = {u.ref for u in usages[start : start + CHUNK]}
        for record in UsageRecord.objects.filter(ref__in=refs):
            if record.household_id in households:
                recorded[record.household_id, record.ref] = record
    closed = plan_selectors.last_closed_many(list(households.values()))
    planned = set(
        Terms.objects.filter(household__in=households).values_list("household_id", flat=True)
    )
    seen: dict[tuple[int, str], Usage] = {}
    fresh, duplicates = [], 0
    for usage in usages:  # in file order
        household = households[usage.member.household_id]
        key = (household.pk, usage.ref)
        try:
            if key in recorded:
                if not same_content(recorded[key], usage):
                    raise Refused("ref", "was already recorded with different content", usage.ref)
                duplicates += 1
                continue
            if key in seen:
                earlier = seen[key]
                if not same_content(earlier, usage):
                    raise Refused(
                        "ref", f"is used on line {earlier.line} with different content", usage.ref
                    )
                duplicates += 1
                continue
            check_against_accounts(household, usage, now=now, last_closed=closed[household.pk])
            if household.pk not in planned:
                raise Refused("household", "has no plan yet", household.slug)
        except Refused as error:
            problems.append(f"line {usage.line}: {error}")
            continue
        seen[key] = usage
        fresh.append(usage)
    return fresh, duplicates
