"""SPEC R6: every invariant of the accounts, checked over the database.

Households are checked a few hundred at a time: their rows are loaded with grouped
queries, then each invariant is checked by a pure function of ``usage.invariants``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from django.db.models import Count, Sum

from accounts.models import Household
from core.periods import Period, period_range
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry, PeriodClose, Zone
from plans.rules import roams_from_domestic
from plans.selectors import terms_in_force
from usage.invariants import (
    Finding,
    bucket_findings,
    close_findings,
    contiguity_findings,
    fair_use_finding,
    grant_kind,
    orphan_rollover_finding,
    record_findings,
)
from usage.models import Allocation, UsageRecord

CHUNK = 200


@dataclass(frozen=True)
class Violation:
    household: str
    subject: str  # "bucket #12 (…)", "record r-1", "close 2026-10", ...
    what: str
    expected: object
    found: object

    def __str__(self) -> str:
        return (
            f"{self.household}: {self.subject}: {self.what}: "
            f"expected {self.expected}, found {self.found}"
        )


def find_violations(household: Household | None = None) -> list[Violation]:
    households = Household.objects.order_by("pk")
    if household is not None:
        households = households.filter(pk=household.pk)
    ids = list(households.values_list("pk", flat=True))
    found: list[Violation] = []
    for start in range(0, len(ids), CHUNK):
        found += _check(ids[start : start + CHUNK])
    return found


def _check(ids: list[int]) -> list[Violation]:
    slugs = dict(Household.objects.filter(pk__in=ids).values_list("pk", "slug"))
    buckets = {b.pk: b for b in Bucket.objects.filter(household_id__in=ids)}
    terms = plan_services.load_terms(ids)
    return [
        Violation(slugs[household_id], *finding)
        for household_id, finding in chain(
            _check_buckets(ids, buckets),
            _check_records(ids, buckets, terms),
            _check_closes(ids, buckets, terms),
        )
    ]


def _check_buckets(ids, buckets) -> Iterator[tuple[int, Finding]]:
    """Each bucket: granted = allocated + rolled out + expired + left, left >= 0, and
    every stored figure equals what its ledger entries (and allocations) add up to."""
    grants, entries = {}, defaultdict(dict)
    for pk, kind, total, n in (
        LedgerEntry.objects.filter(household_id__in=ids)
        .values("bucket_id", "kind")
        .annotate(total=Sum("bytes"), n=Count("id"))
        .values_list("bucket_id", "kind", "total", "n")
    ):
        entries[pk][kind] = total or 0
        if kind in ("grant", "roll_in"):
            grants[pk, kind] = (n, total)
    allocated = dict(
        Allocation.objects.filter(bucket__household_id__in=ids)
        .values("bucket_id")
        .annotate(total=Sum("bytes"))
        .values_list("bucket_id", "total")
    )
    for pk, b in buckets.items():
        for finding in bucket_findings(
            b, grants.get((pk, grant_kind(b))), entries[pk], allocated.get(pk, 0)
        ):
            yield b.household_id, finding


def _check_records(ids, buckets, terms) -> Iterator[tuple[int, Finding]]:
    """Each record: bytes = allocations + overage, allocations from valid buckets of its
    zone (or domestic ones under ``from_domestic``, R10), matching ledger entries, the
    right period; one record per ref; each member's roaming within the fair-use volume."""
    allocations = defaultdict(list)
    for record_id, bucket_id, amount in Allocation.objects.filter(
        record__household_id__in=ids
    ).values_list("record_id", "bucket_id", "bytes"):
        allocations[record_id].append((bucket_id, amount))
    entries = dict(
        LedgerEntry.objects.filter(household_id__in=ids, kind=LedgerEntry.Kind.ALLOCATION)
        .values("usage_record_id")
        .annotate(total=Sum("bytes"))
        .values_list("usage_record_id", "total")
    )
    calendars = {h.pk: h.calendar for h in Household.objects.filter(pk__in=ids)}
    records = UsageRecord.objects.filter(household_id__in=ids).values_list(
        "pk",
        "household_id",
        "ref",
        "started_at",
        "period",
        "from_domestic_bytes",
        "zone",
        "bytes",
        "covered_bytes",
        "overage_bytes",
    )
    in_force = _terms_of(terms)
    for pk, h, ref, started_at, period, from_domestic, *figures in records.iterator(2000):
        mode = in_force(h, period)
        for finding in record_findings(
            ref,
            started_at,
            *figures,
            period=period,
            expected_period=calendars[h].period_of(started_at).key,
            allocations=allocations[pk],
            entries=entries.get(pk, 0),
            buckets=buckets,
            from_domestic=from_domestic,
            roams_domestic=roams_from_domestic(mode),
        ):
            yield h, finding
    yield from _check_fair_use(ids, in_force)
    for row in (
        UsageRecord.objects.filter(household_id__in=ids)
        .values("household_id", "ref")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        finding = Finding(f"record {row['ref']}", "one record per ref", 1, row["n"])
        yield row["household_id"], finding


def _terms_of(terms):
    """The terms in force for a household's period, looked up once per period."""
    cache = {}

    def in_force(household_id: int, period: str):
        if (household_id, period) not in cache:
            found = terms_in_force(terms[household_id], Period.parse(period))
            cache[household_id, period] = found
        return cache[household_id, period]

    return in_force


def _check_fair_use(ids, in_force) -> Iterator[tuple[int, Finding]]:
    """SPEC R10: each member's roaming drew at most the fair-use volume of the period's
    terms from the domestic pool."""
    for h, username, period, drawn in (
        UsageRecord.objects.filter(
            household_id__in=ids, zone=Zone.ROAMING, from_domestic_bytes__gt=0
        )
        .values("household_id", "member__user__username", "period")
        .annotate(total=Sum("from_domestic_bytes"))
        .values_list("household_id", "member__user__username", "period", "total")
    ):
        terms = in_force(h, period)
        finding = fair_use_finding(username, period, drawn, terms and terms.roaming_fair_use_bytes)
        if finding is not None:
            yield h, finding


def _check_closes(ids, buckets, terms) -> Iterator[tuple[int, Finding]]:
    """Each close: rolled <= unused (with rolling packs), <= the cap and <= the bank's
    room, nothing at a forfeiting close, its rollover bucket and its roll-out entries
    equal rolled; closes contiguous from the start period; one allowance per period and zone."""
    starts = dict(Household.objects.filter(pk__in=ids).values_list("pk", "start_period"))
    closes = defaultdict(list)
    for close in PeriodClose.objects.filter(household_id__in=ids).order_by(
        "household_id", "period"
    ):
        closes[close.household_id].append(close)
    rollovers = {
        (b.household_id, b.period): b for b in buckets.values() if b.kind == Bucket.Kind.ROLLOVER
    }
    roll_outs = defaultdict(list)
    for close_id, bucket_id, amount in LedgerEntry.objects.filter(
        household_id__in=ids, kind=LedgerEntry.Kind.ROLL_OUT
    ).values_list("period_close_id", "bucket_id", "bytes"):
        roll_outs[close_id].append((bucket_id, amount))
    for h, own in closes.items():
        expected = period_range(Period.parse(starts[h]), Period.parse(own[-1].period))
        for finding in contiguity_findings([p.key for p in expected], [c.period for c in own]):
            yield h, finding
        for c in own:
            in_force = terms_in_force(terms[h], Period.parse(c.period))
            rollover = rollovers.pop((h, c.period), None)
            for finding in close_findings(c, in_force, rollover, roll_outs[c.pk], buckets):
                yield h, finding
    for (h, _), bucket in rollovers.items():
        yield h, orphan_rollover_finding(bucket)
    for row in (
        Bucket.objects.filter(household_id__in=ids, kind=Bucket.Kind.ALLOWANCE)
        .values("household_id", "period", "zone")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        subject = f"allowance {row['period']} {row['zone']}"
        finding = Finding(subject, "one allowance per period and zone", 1, row["n"])
        yield row["household_id"], finding
