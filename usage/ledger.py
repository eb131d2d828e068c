"""SPEC R6: every invariant of the accounts, checked over the database.

Households are checked a few hundred at a time with grouped queries, so the number of
queries grows with the number of chunks, not of households or records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Sum

from accounts.models import Household
from core.periods import Period, period_range
from plans.models import Bucket, LedgerEntry, PeriodClose, Terms
from plans.selectors import terms_in_force
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
    out: list[Violation] = []

    def bad(household_id, subject, what, expected, found):
        out.append(Violation(slugs[household_id], subject, what, expected, found))

    buckets = {b.pk: b for b in Bucket.objects.filter(household_id__in=ids)}
    _check_buckets(ids, buckets, bad)
    _check_records(ids, buckets, bad)
    _check_closes(ids, buckets, bad)
    return out


def _check_buckets(ids, buckets, bad) -> None:
    """Each bucket: granted = allocated + rolled out + expired + left, left >= 0, and
    every stored figure equals what its ledger entries (and allocations) add up to."""
    ledger = {
        (row["bucket_id"], row["kind"]): row
        for row in LedgerEntry.objects.filter(household_id__in=ids)
        .values("bucket_id", "kind")
        .annotate(total=Sum("bytes"), n=Count("id"))
    }
    allocated = dict(
        Allocation.objects.filter(bucket__household_id__in=ids)
        .values("bucket_id")
        .annotate(total=Sum("bytes"))
        .values_list("bucket_id", "total")
    )

    def entry(pk, kind):
        row = ledger.get((pk, kind))
        return (row["total"] or 0) if row else 0

    for pk, b in buckets.items():
        h = b.household_id
        name = f"bucket #{pk} ({b.kind} {b.zone} {b.period})"
        grant_kind = "roll_in" if b.kind == Bucket.Kind.ROLLOVER else "grant"
        grants = ledger.get((pk, grant_kind))
        if grants is None or grants["n"] != 1:
            bad(h, name, f"one {grant_kind} entry", 1, grants["n"] if grants else 0)
        if b.unlimited:
            if b.left_bytes is not None or b.rolled_out_bytes or b.expired_bytes:
                figures = f"{b.left_bytes}/{b.rolled_out_bytes}/{b.expired_bytes}"
                bad(
                    h,
                    name,
                    "unlimited: left unlimited, nothing rolled or expired",
                    "None/0/0",
                    figures,
                )
        else:
            total = b.allocated_bytes + b.rolled_out_bytes + b.expired_bytes + (b.left_bytes or 0)
            if b.left_bytes is None or b.left_bytes < 0 or total != b.granted_bytes:
                bad(
                    h,
                    name,
                    "granted = allocated + rolled out + expired + left",
                    b.granted_bytes,
                    total,
                )
            if grants and grants["total"] != b.granted_bytes:
                bad(
                    h,
                    name,
                    f"granted bytes in the ledger ({grant_kind})",
                    b.granted_bytes,
                    grants["total"],
                )
        for field, kind in (
            ("allocated_bytes", "allocation"),
            ("rolled_out_bytes", "roll_out"),
            ("expired_bytes", "expiry"),
        ):
            if getattr(b, field) != entry(pk, kind):
                bad(
                    h,
                    name,
                    f"{field} equals its {kind} ledger entries",
                    entry(pk, kind),
                    getattr(b, field),
                )
        if b.allocated_bytes != allocated.get(pk, 0):
            bad(
                h,
                name,
                "allocated_bytes equals its allocations",
                allocated.get(pk, 0),
                b.allocated_bytes,
            )


def _check_records(ids, buckets, bad) -> None:
    """Each record: bytes = allocations + overage, allocations from valid buckets of its
    zone, matching ledger entries, the right period; one record per ref."""
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
        "zone",
        "bytes",
        "covered_bytes",
        "overage_bytes",
    )
    for pk, h, ref, started_at, period, zone, amount, covered, overage in records.iterator(2000):
        name = f"record {ref}"
        drawn = sum(n for _, n in allocations[pk])
        if amount != drawn + overage or covered != drawn:
            bad(h, name, "bytes = sum of allocations + overage", amount, drawn + overage)
        if entries.get(pk, 0) != drawn:
            bad(
                h,
                name,
                "allocation ledger entries equal its allocations",
                drawn,
                entries.get(pk, 0),
            )
        expected_period = calendars[h].period_of(started_at).key
        if period != expected_period:
            bad(h, name, "period contains started_at", expected_period, period)
        for bucket_id, _ in allocations[pk]:
            b = buckets.get(bucket_id)
            if b is None or b.zone != zone or not b.valid_from <= started_at < b.expires_at:
                bad(
                    h,
                    name,
                    f"allocation from a valid {zone} bucket of the household",
                    "valid bucket",
                    f"bucket #{bucket_id}",
                )
    for row in (
        UsageRecord.objects.filter(household_id__in=ids)
        .values("household_id", "ref")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        bad(row["household_id"], f"record {row['ref']}", "one record per ref", 1, row["n"])


def _check_closes(ids, buckets, bad) -> None:
    """Each close: rolled <= unused allowance and <= the cap, its rollover bucket equals
    rolled; closes contiguous from the start period; one allowance per period and zone."""
    starts = dict(Household.objects.filter(pk__in=ids).values_list("pk", "start_period"))
    closes = defaultdict(list)
    for close in PeriodClose.objects.filter(household_id__in=ids).order_by(
        "household_id", "period"
    ):
        closes[close.household_id].append(close)
    terms = defaultdict(list)
    for row in Terms.objects.filter(household_id__in=ids).order_by("household_id", "period"):
        terms[row.household_id].append(row)
    rollovers = {
        (b.household_id, b.period): b for b in buckets.values() if b.kind == Bucket.Kind.ROLLOVER
    }
    for h, own in closes.items():
        expected = [
            p.key for p in period_range(Period.parse(starts[h]), Period.parse(own[-1].period))
        ]
        keys = [c.period for c in own]
        if keys != expected:
            bad(h, "closes", "contiguous from the start period, one per period", expected, keys)
        for c in own:
            name = f"close {c.period}"
            in_force = terms_in_force(terms[h], Period.parse(c.period))
            if c.unused_bytes is not None and c.rolled_bytes > c.unused_bytes:
                bad(h, name, "rolled <= unused allowance", c.unused_bytes, c.rolled_bytes)
            cap = in_force.rollover_cap_bytes if in_force else None
            if cap is not None and c.rolled_bytes > cap:
                bad(h, name, "rolled <= rollover cap", cap, c.rolled_bytes)
            if in_force is not None and not in_force.rollover and c.rolled_bytes:
                bad(h, name, "no rollover without rollover terms", 0, c.rolled_bytes)
            bucket = rollovers.pop((h, c.period), None)
            granted = bucket.granted_bytes if bucket else 0
            if granted != c.rolled_bytes:
                bad(h, name, "rollover bucket equals rolled bytes", c.rolled_bytes, granted)
    for (h, period), bucket in rollovers.items():
        bad(
            h,
            f"bucket #{bucket.pk}",
            "rollover bucket comes from a close",
            f"close {period}",
            "none",
        )
    for row in (
        Bucket.objects.filter(household_id__in=ids, kind=Bucket.Kind.ALLOWANCE)
        .values("household_id", "period", "zone")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        subject = f"allowance {row['period']} {row['zone']}"
        bad(row["household_id"], subject, "one allowance per period and zone", 1, row["n"])
