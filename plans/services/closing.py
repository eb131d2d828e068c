"""Closing periods (SPEC R4) for many households at once.

The shell around ``rules.close_period``: load what the close of each household needs,
call the rule per household, write every outcome in bulk. The number of queries grows
with rounds, not households; lazy closing from ``record_usage`` and ``grant`` runs the
very same code on one household.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Max

from accounts.models import Household
from accounts.services import fix_calendar
from core.db import insert_objects
from core.periods import Period, period_range
from plans import rules, selectors
from plans.models import Bucket, PeriodClose, Terms
from plans.services import close_inputs as inputs
from plans.services.ledger import (
    Entry,
    LedgerRow,
    Move,
    grant_entries,
    insert_buckets,
    move_bytes,
    new_bucket,
    write_entries,
)
from plans.services.opening import open_through
from plans.services.terms import load_terms, terms_in_force

CLOSE_FIELDS = [
    "household",
    "period",
    "unused_bytes",
    "rolled_bytes",
    "expired_bytes",
    "banked_bytes",
    "forfeited",
    "closed_at",
]

Pair = inputs.Pair


def close_round(
    pairs: list[Pair], terms: dict[int, list[Terms]], now: datetime
) -> list[PeriodClose]:
    """SPEC R4.1–R4.4: close one period for each household of ``pairs`` at once."""
    fix_calendar(h.pk for h, _ in pairs)
    open_through([h for h, _ in pairs], {h.pk: p.next() for h, p in pairs}, terms)
    allowances, ending, bank = inputs.allowances(pairs), inputs.ending(pairs), inputs.bank(pairs)
    outcomes = [
        (
            household,
            rules.close_period(
                household.calendar,
                period,
                terms_in_force(terms, household, period),
                allowance=allowances[household.pk, period.key],
                ending=ending[household.pk],
                bank=bank[household.pk],
                next_terms=inputs.next_terms(terms, household, period),
            ),
        )
        for household, period in pairs
    ]
    return write_outcomes(outcomes, now)


def write_outcomes(
    outcomes: list[tuple[Household, rules.CloseOutcome]], now: datetime
) -> list[PeriodClose]:
    """Record the closes, move the rolled and expired bytes, grant the rollover buckets
    and write the ledger entries of it all, a few statements for all households."""
    closes = [
        PeriodClose(
            household=household,
            period=outcome.period,
            unused_bytes=outcome.unused,
            rolled_bytes=outcome.rolled,
            expired_bytes=outcome.expired,
            banked_bytes=outcome.banked,
            forfeited=outcome.forfeit,
            closed_at=now,
        )
        for household, outcome in outcomes
    ]
    insert_objects(closes, CLOSE_FIELDS)
    done = list(zip(closes, (outcome for _, outcome in outcomes), strict=True))
    moves: dict[int, Move] = {}
    for _, outcome in done:
        for out in outcome.roll_outs:
            moves[out.pk] = moves.get(out.pk, Move()) + Move(rolled_out=out.bytes)
        for expiry in outcome.expiries:
            moves[expiry.pk] = moves.get(expiry.pk, Move()) + Move(expired=expiry.bytes)
    move_bytes(moves)
    if forfeited := [pk for _, o in done for pk in o.forfeited]:
        Bucket.objects.filter(pk__in=forfeited).update(forfeited=True)
    rollovers = [
        (close, new_bucket(close.household_id, o.rollover, created_at=now))
        for close, o in done
        if o.rollover is not None
    ]
    insert_buckets([bucket for _, bucket in rollovers])
    write_entries(_close_entries(done, rollovers))
    return closes


def _close_entries(done, rollovers) -> list[LedgerRow]:
    """The roll-outs, then the roll-ins, then the expiries of a round of closes."""
    entries = [
        LedgerRow(c.household_id, out.pk, Entry.ROLL_OUT, out.bytes, out.at, c.pk)
        for c, o in done
        for out in o.roll_outs
    ]
    entries += [grant_entries([b], Entry.ROLL_IN, close=c)[0] for c, b in rollovers]
    entries += [
        LedgerRow(c.household_id, e.pk, Entry.EXPIRY, e.bytes, e.at, c.pk)
        for c, o in done
        for e in o.expiries
    ]
    return entries


def _pending(households, terms, *, now: datetime, through: Period | None):
    """The periods each household (with a plan) has to close, oldest first."""
    latest = dict(
        PeriodClose.objects.filter(household__in=households)
        .values("household_id")
        .annotate(last=Max("period"))
        .values_list("household_id", "last")
    )
    pending = {}
    for household in households:
        if household.pk not in terms:
            continue  # no plan yet: nothing to account for
        first = Period.parse(latest[household.pk]).next() if household.pk in latest else None
        last = selectors.last_due(household, now)
        if through is not None:
            last = min(last, through)
        pending[household.pk] = period_range(first or household.first_period, last)
    return pending


def close_due(
    households: list[Household],
    *,
    now: datetime,
    through: Period | None = None,
    terms: dict[int, list[Terms]] | None = None,
) -> dict[int, list[PeriodClose]]:
    """SPEC R4.5: close, oldest first, every period of each household whose grace has
    passed at ``now`` (and no later than ``through``). The caller holds the locks.

    Periods close in rounds, one period per household per round, so a household that
    catches up on missed months closes them strictly in order.
    """
    terms = load_terms(households) if terms is None else terms
    pending = _pending(households, terms, now=now, through=through)
    closes = defaultdict(list)
    by_pk = {h.pk: h for h in households}
    rounds = max((len(p) for p in pending.values()), default=0)
    for index in range(rounds):
        pairs = [
            (by_pk[pk], periods[index]) for pk, periods in pending.items() if len(periods) > index
        ]
        for close in close_round(pairs, terms, now):
            closes[close.household_id].append(close)
    return closes


def close_lazily(household: Household, *, before: Period, now: datetime) -> None:
    """SPEC R4.6: recording usage or granting at a time in ``before`` first closes every
    earlier period whose grace has passed. The caller holds the lock."""
    close_due([household], now=now, through=before.previous())
