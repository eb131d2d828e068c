"""SPEC R6: every invariant of the accounts, checked over the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Sum

from accounts.models import Household
from plans.models import Bucket, LedgerEntry, PeriodClose, Terms
from plans.periods import Period, period_range
from plans.selectors import terms_in_force
from usage.models import Allocation, UsageRecord


@dataclass(frozen=True)
class Violation:
    household: str
    subject: str  # "bucket #12", "record r-1", "close 2026-10", ...
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
    found: list[Violation] = []
    for each in households.iterator():
        found += _check_household(each)
    return found


def _sums(queryset, key: str, *, by: str = "kind") -> dict:
    """{(key value, by value): summed bytes} in one grouped query."""
    rows = queryset.values(key, by).annotate(total=Sum("bytes"), n=Count("id"))
    return {(row[key], row[by]): row for row in rows}


def _check_household(household: Household) -> list[Violation]:
    slug = household.slug
    out: list[Violation] = []

    def bad(subject, what, expected, found):
        out.append(Violation(slug, subject, what, expected, found))

    buckets = {b.pk: b for b in Bucket.objects.filter(household=household)}
    ledger = _sums(LedgerEntry.objects.filter(household=household), "bucket_id")
    allocated = {
        row["bucket_id"]: row["total"]
        for row in Allocation.objects.filter(bucket__household=household)
        .values("bucket_id")
        .annotate(total=Sum("bytes"))
    }

    def entry(pk, kind):
        row = ledger.get((pk, kind))
        return (row["total"] or 0) if row else 0

    for pk, b in buckets.items():
        name = f"bucket #{pk} ({b.kind} {b.zone} {b.period})"
        grant_kind = "roll_in" if b.kind == Bucket.Kind.ROLLOVER else "grant"
        grants = ledger.get((pk, grant_kind))
        if grants is None or grants["n"] != 1:
            bad(name, f"one {grant_kind} entry", 1, grants["n"] if grants else 0)
        if b.unlimited:
            if b.left_bytes is not None or b.rolled_out_bytes or b.expired_bytes:
                bad(
                    name,
                    "unlimited bucket: left unlimited, nothing rolled or expired",
                    "None/0/0",
                    f"{b.left_bytes}/{b.rolled_out_bytes}/{b.expired_bytes}",
                )
        else:
            total = b.allocated_bytes + b.rolled_out_bytes + b.expired_bytes + (b.left_bytes or 0)
            if b.left_bytes is None or b.left_bytes < 0 or total != b.granted_bytes:
                bad(
                    name,
                    "granted = allocated + rolled out + expired + left",
                    b.granted_bytes,
                    total,
                )
            if grants and grants["total"] != b.granted_bytes:
                bad(
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
                    name,
                    f"{field} equals its {kind} ledger entries",
                    entry(pk, kind),
                    getattr(b, field),
                )
        if b.allocated_bytes != allocated.get(pk, 0):
            bad(
                name,
                "allocated_bytes equals its allocations",
                allocated.get(pk, 0),
                b.allocated_bytes,
            )

    _check_records(household, buckets, bad)
    _check_closes(household, buckets, bad)
    return out


def _check_records(household, buckets, bad) -> None:
    calendar = household.calendar
    allocations = defaultdict(list)
    for a in Allocation.objects.filter(record__household=household).values(
        "record_id", "bucket_id", "bytes"
    ):
        allocations[a["record_id"]].append(a)
    entries = {
        row["usage_record_id"]: row["total"]
        for row in LedgerEntry.objects.filter(household=household, kind="allocation")
        .values("usage_record_id")
        .annotate(total=Sum("bytes"))
    }
    for r in UsageRecord.objects.filter(household=household).iterator():
        name = f"record {r.ref}"
        drawn = sum(a["bytes"] for a in allocations[r.pk])
        if r.bytes != drawn + r.overage_bytes or r.covered_bytes != drawn:
            bad(name, "bytes = sum of allocations + overage", r.bytes, drawn + r.overage_bytes)
        if entries.get(r.pk, 0) != drawn:
            bad(
                name, "allocation ledger entries equal its allocations", drawn, entries.get(r.pk, 0)
            )
        if r.period != calendar.period_of(r.started_at).key:
            bad(name, "period contains started_at", calendar.period_of(r.started_at).key, r.period)
        for a in allocations[r.pk]:
            b = buckets.get(a["bucket_id"])
            if b is None or b.zone != r.zone or not b.valid_from <= r.started_at < b.expires_at:
                bad(
                    name,
                    f"allocation from a valid {r.zone} bucket of the household",
                    "valid bucket",
                    f"bucket #{a['bucket_id']}",
                )


def _check_closes(household, buckets, bad) -> None:
    closes = list(PeriodClose.objects.filter(household=household).order_by("period"))
    terms = list(Terms.objects.filter(household=household).order_by("period"))
    if closes:
        expected = [
            p.key for p in period_range(household.first_period, Period.parse(closes[-1].period))
        ]
        keys = [c.period for c in closes]
        if keys != expected:
            bad("closes", "contiguous from the start period, one per period", expected, keys)
    rollovers = {b.period: b for b in buckets.values() if b.kind == Bucket.Kind.ROLLOVER}
    for c in closes:
        name = f"close {c.period}"
        in_force = terms_in_force(terms, Period.parse(c.period))
        if c.unused_bytes is not None and c.rolled_bytes > c.unused_bytes:
            bad(name, "rolled <= unused allowance", c.unused_bytes, c.rolled_bytes)
        cap = in_force.rollover_cap_bytes if in_force else None
        if cap is not None and c.rolled_bytes > cap:
            bad(name, "rolled <= rollover cap", cap, c.rolled_bytes)
        if in_force is not None and not in_force.rollover and c.rolled_bytes:
            bad(name, "no rollover without rollover terms", 0, c.rolled_bytes)
        bucket = rollovers.pop(c.period, None)
        granted = bucket.granted_bytes if bucket else 0
        if granted != c.rolled_bytes:
            bad(name, "rollover bucket equals rolled bytes", c.rolled_bytes, granted)
    for period, bucket in rollovers.items():
        bad(f"bucket #{bucket.pk}", "rollover bucket comes from a close", f"close {period}", "none")
    for row in (
        Bucket.objects.filter(household=household, kind="allowance")
        .values("period", "zone")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        bad(
            f"allowance {row['period']} {row['zone']}",
            "one allowance per period and zone",
            1,
            row["n"],
        )
    for row in (
        UsageRecord.objects.filter(household=household)
        .values("ref")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        bad(f"record {row['ref']}", "one record per ref", 1, row["n"])
