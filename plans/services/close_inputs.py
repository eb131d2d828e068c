"""What the close of a period needs, loaded for many households at once (SPEC R4, R8,
R9, R11): a fixed number of queries per round of closes, whatever the number of
households. The cron close, the lazy close and the pending rollover of pages (R4.7)
all read through here and call the same rule, ``rules.close_period``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from accounts.models import Household
from core.periods import Period
from plans import rules, selectors
from plans.models import Bucket, LedgerEntry, Terms, Zone

Pair = tuple[Household, Period]
LEFTOVER_FIELDS = (
    "household_id",
    "pk",
    "left_bytes",
    "expires_at",
    "kind",
    "valid_from",
    "rolls_over",
)


def allowances(pairs: list[Pair]) -> dict[tuple[int, str], tuple[int, int | None]]:
    """The domestic allowance of each household's period, as ``(pk, left)``."""
    rows = Bucket.objects.filter(
        household__in=[h for h, _ in pairs],
        kind=Bucket.Kind.ALLOWANCE,
        zone=Zone.DOMESTIC,
        period__in={p.key for _, p in pairs},
    ).values_list("household_id", "period", "pk", "left_bytes")
    return {(household, period): (pk, left) for household, period, pk, left in rows}


def ending(pairs: list[Pair]) -> dict[int, list[rules.Leftover]]:
    """Each household's buckets that reach their end by its period's end with bytes
    left, in the buckets' own order (with what R11 needs of the packs that roll over)."""
    ends = {h.pk: h.calendar.end(p) for h, p in pairs}
    found = defaultdict(list)
    rows = Bucket.objects.filter(
        household__in=[h for h, _ in pairs], left_bytes__gt=0, expires_at__lte=max(ends.values())
    ).values_list(*LEFTOVER_FIELDS)
    for household, pk, left, expires_at, kind, valid_from, rolls_over in rows:
        if expires_at <= ends[household]:
            found[household].append(
                rules.Leftover(pk, left, expires_at, kind, valid_from, rolls_over)
            )
    return found


def bank(pairs: list[Pair]) -> dict[int, list[rules.Banked]]:
    """SPEC R8, R9: each household's rollover buckets valid at its period's end, not
    forfeited: what they hold now and what records at or after that end drew from
    them (two queries; the second only when some bank exists)."""
    ends = {h.pk: h.calendar.end(p) for h, p in pairs}
    earliest = min(ends.values())
    rows = [
        row
        for row in Bucket.objects.filter(
            household__in=[h for h, _ in pairs],
            kind=Bucket.Kind.ROLLOVER,
            forfeited=False,
            expires_at__gt=earliest,
            valid_from__lte=max(ends.values()),
        ).values_list("household_id", "pk", "left_bytes", "valid_from", "expires_at")
        if row[3] <= ends[row[0]] < row[4]
    ]
    drawn = defaultdict(int)
    if rows:
        entries = LedgerEntry.objects.filter(
            bucket__in=[row[1] for row in rows],
            kind=LedgerEntry.Kind.ALLOCATION,
            at__gte=earliest,
        ).values_list("household_id", "bucket_id", "at", "bytes")
        for household, pk, at, amount in entries:
            if at >= ends[household]:
                drawn[pk] += amount
    found = defaultdict(list)
    for household, pk, left, _, _ in rows:
        found[household].append(rules.Banked(pk, left, drawn[pk]))
    return found


def next_terms(terms: dict[int, list[Terms]], household: Household, period: Period):
    """SPEC R9: the terms in force for P+1 (what the close of P compares its own with)."""
    return selectors.terms_in_force(terms.get(household.pk, []), period.next())


def pending_rollovers(
    household: Household, periods: list[Period], terms: list[Terms]
) -> dict[str, int]:
    """SPEC R4.7: what the close of each period awaiting it would roll if it ran now,
    the earlier ones taken as closed first: the very rule of the close
    (``rules.close_period``) on what the close would load, with the rollover buckets
    the earlier pending closes would grant, or forfeit, carried along. Writes nothing."""
    by_household = {household.pk: terms}
    pending, carried, gone = {}, [], set()
    previous_end: datetime | None = None
    for period in periods:
        pair = [(household, period)]
        allowance = allowances(pair).get((household.pk, period.key))
        in_force = selectors.terms_in_force(terms, period)
        if allowance is None or in_force is None:
            pending[period.key] = 0
            continue
        end = household.calendar.end(period)
        carried = [(b, expires_at) for b, expires_at in carried if expires_at > end]
        outcome = rules.close_period(
            household.calendar,
            period,
            in_force,
            allowance=allowance,
            ending=[
                b
                for b in ending(pair)[household.pk]
                if previous_end is None or b.expires_at > previous_end
            ],
            bank=[b for b in bank(pair)[household.pk] if b.pk not in gone]
            + [b for b, _ in carried],
            next_terms=next_terms(by_household, household, period),
        )
        pending[period.key] = outcome.rolled
        gone |= set(outcome.forfeited)
        carried = [(b, at) for b, at in carried if b.pk not in outcome.forfeited]
        if outcome.rollover is not None:
            coming = rules.Banked(-len(pending), outcome.rolled)  # not a row yet
            carried.append((coming, outcome.rollover.expires_at))
        previous_end = end
    return pending
