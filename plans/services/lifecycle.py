"""Opening and closing periods (SPEC R1, R4), for one household or many at once.

The cron close handles households in batches with a number of queries that grows
with batches, not households; lazy closing from ``record_usage`` and ``grant`` runs
the very same code on a batch of one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Household
from accounts.services import fix_calendar
from core.db import Increment, add_to_columns, collector_paused, insert_objects, insert_rows
from core.errors import Refused
from core.periods import Period, period_range
from plans import selectors
from plans.models import Bucket, LedgerEntry, PeriodClose, Terms, Zone

logger = logging.getLogger(__name__)

Entry = LedgerEntry.Kind
BATCH_SIZE = 500


# --- locking ---------------------------------------------------------------------------


def lock_household(household: Household) -> Household:
    """Lock the household row for this transaction and return it fresh.

    Every write that moves a household's bytes takes this lock first, so writers on
    one household run one after the other (PostgreSQL row lock; on SQLite the
    IMMEDIATE transaction already serialises writers).
    """
    return Household.objects.select_for_update().get(pk=household.pk)


def lock_households(ids: list[int]) -> list[Household]:
    """Lock many households in primary-key order, the one order that cannot deadlock."""
    ids = sorted(ids)
    locked = []
    for start in range(0, len(ids), BATCH_SIZE):
        page = ids[start : start + BATCH_SIZE]
        locked += Household.objects.select_for_update().filter(pk__in=page).order_by("pk")
    return locked


def load_terms(households: list[Household]) -> dict[int, list[Terms]]:
    """Every household's terms rows, oldest first, in one query."""
    terms = defaultdict(list)
    for row in Terms.objects.filter(household__in=households).order_by("household_id", "period"):
        terms[row.household_id].append(row)
    return terms


def _terms(terms: dict[int, list[Terms]], household: Household, period: Period) -> Terms:
    found = selectors.terms_in_force(terms.get(household.pk, []), period)
    if found is None:
        raise Refused("plan", "the household has no plan for this period", period.key)
    return found


LEDGER_FIELDS = ["household", "bucket", "kind", "bytes", "at", "period_close", "created_at"]


def write_entries(entries: list[tuple]) -> None:
    """Append ledger entries given as ``(household_id, bucket_id, kind, bytes, at,
    period_close_id)`` tuples, in one statement per batch (they are many at a close)."""
    now = timezone.now()
    insert_rows(LedgerEntry, LEDGER_FIELDS, [(*entry, now) for entry in entries])


def grant_entries(buckets: list[Bucket], kind: str = Entry.GRANT, close=None) -> list[tuple]:
    """The entries that put each new bucket's bytes in it (a grant, or a roll-in)."""
    close_id = close.pk if close is not None else None
    return [(b.household_id, b.pk, kind, b.granted_bytes, b.valid_from, close_id) for b in buckets]


# --- balances -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Move:
    """Bytes leaving one bucket: allocated to usage, rolled out, or expired."""

    allocated: int = 0
    rolled_out: int = 0
    expired: int = 0

    def __add__(self, other: Move) -> Move:
        return Move(
            self.allocated + other.allocated,
            self.rolled_out + other.rolled_out,
            self.expired + other.expired,
        )


def move_bytes(moves: dict[int, Move]) -> None:
    """Apply ``moves`` (bucket id -> Move) to the stored balances: each figure grows by
    its amount and ``left_bytes`` shrinks by their sum (an unlimited bucket's stays
    empty). The caller holds the household locks and writes the matching ledger
    entries."""
    increments = [
        Increment(pk, (m.allocated, m.rolled_out, m.expired))
        for pk, m in moves.items()
        if m.allocated or m.rolled_out or m.expired
    ]
    add_to_columns(
        Bucket,
        ["allocated_bytes", "rolled_out_bytes", "expired_bytes"],
        increments,
        less_their_sum="left_bytes",
    )


# --- R1: opening -----------------------------------------------------------------------


def open_through(
    households: list[Household],
    targets: dict[int, Period],
    terms: dict[int, list[Terms]] | None = None,
) -> None:
    """SPEC R1: for each household, create the allowance buckets of every period up to
    its target, in order and never twice. The caller holds the households' locks."""
    terms = load_terms(households) if terms is None else terms
    buckets = []
    moved = defaultdict(list)
    now = timezone.now()
    for household in households:
        through = targets.get(household.pk)
        if through is None:
            continue
        opened = household.opened_through
        start = Period.parse(opened).next() if opened else household.first_period
        if through < start:
            continue
        calendar = household.calendar
        for period in period_range(start, through):
            in_force = _terms(terms, household, period)
            common = {
                "household_id": household.pk,
                "kind": Bucket.Kind.ALLOWANCE,
                "period": period.key,
                "valid_from": calendar.start(period),
                "expires_at": calendar.end(period),
                "created_at": now,
            }
            domestic = in_force.monthly_allowance_bytes
            buckets.append(
                Bucket(zone=Zone.DOMESTIC, granted_bytes=domestic, left_bytes=domestic, **common)
            )
            if roaming := in_force.roaming_allowance_bytes:
                buckets.append(
                    Bucket(zone=Zone.ROAMING, granted_bytes=roaming, left_bytes=roaming, **common)
                )
        household.opened_through = through.key
        moved[through.key].append(household.pk)
    insert_objects(buckets, BUCKET_FIELDS)
    write_entries(grant_entries(buckets))
    for key, ids in moved.items():
        Household.objects.filter(pk__in=ids).update(opened_through=key)


CLOSE_FIELDS = ["household", "period", "unused_bytes", "rolled_bytes", "expired_bytes", "closed_at"]
BUCKET_FIELDS = [
    "household",
    "kind",
    "zone",
    "period",
    "granted_bytes",
    "allocated_bytes",
    "rolled_out_bytes",
    "expired_bytes",
    "left_bytes",
    "valid_from",
    "expires_at",
    "note",
    "created_at",
]


def open_periods(household: Household, through: Period) -> None:
    """R1 for one household (locked by the caller)."""
    open_through([household], {household.pk: through})


def ensure_open(household: Household, through: Period) -> None:
    """Open periods up to ``through`` if needed, in a transaction of its own (reads)."""
    current = Household.objects.filter(pk=household.pk).values_list("opened_through", flat=True)
    opened = current.get()
    household.opened_through = opened
    if (opened and Period.parse(opened) >= through) or through < household.first_period:
        return
    with transaction.atomic():
        locked = lock_household(household)
        open_periods(locked, through)
        household.opened_through = locked.opened_through


# --- R4: closing -----------------------------------------------------------------------


def _close_round(
    pairs: list[tuple[Household, Period]], terms: dict[int, list[Terms]], now: datetime
) -> list[PeriodClose]:
    """SPEC R4.1–R4.4: close one period for each household of ``pairs`` at once."""
    households = [h for h, _ in pairs]
    fix_calendar(h.pk for h in households)
    open_through(households, {h.pk: p.next() for h, p in pairs}, terms)
    ends = {h.pk: h.calendar.end(p) for h, p in pairs}
    allowances = {
        (b.household_id, b.period): b
        for b in Bucket.objects.filter(
            household__in=households,
            kind=Bucket.Kind.ALLOWANCE,
            zone=Zone.DOMESTIC,
            period__in={p.key for _, p in pairs},
        )
    }
    # R4.2: whatever reaches its end by P's end and still has bytes left expires.
    expiring = defaultdict(list)
    for b in Bucket.objects.filter(
        household__in=households, left_bytes__gt=0, expires_at__lte=max(ends.values())
    ):
        if b.expires_at <= ends[b.household_id]:
            expiring[b.household_id].append(b)

    closes, rolled_from, rollovers, expired = [], [], [], []
    for household, period in pairs:
        in_force = _terms(terms, household, period)
        allowance = allowances[household.pk, period.key]
        unused = allowance.left_bytes
        rolled = selectors.rollover_amount(in_force, unused)
        close = PeriodClose(
            household=household,
            period=period.key,
            unused_bytes=unused,
            rolled_bytes=rolled,
            closed_at=now,
        )
        closes.append(close)
        end = ends[household.pk]
        if rolled:
            allowance.left_bytes -= rolled
            allowance.rolled_out_bytes += rolled
            rolled_from.append((close, allowance))
            rollovers.append(
                (
                    close,
                    Bucket(
                        household=household,
                        kind=Bucket.Kind.ROLLOVER,
                        zone=Zone.DOMESTIC,
                        period=period.key,
                        granted_bytes=rolled,
                        left_bytes=rolled,
                        valid_from=end,
                        expires_at=household.calendar.start(
                            period.shift(1 + in_force.rollover_months)
                        ),
                        note=f"Rolled over from {period.key}",
                        created_at=now,
                    ),
                )
            )
        for candidate in expiring[household.pk]:
            # The allowance is the same row as before, less what it just rolled out.
            bucket = allowance if candidate.pk == allowance.pk else candidate
            if bucket.left_bytes:
                expired.append((close, bucket, bucket.left_bytes))
                close.expired_bytes += bucket.left_bytes

    insert_objects(closes, CLOSE_FIELDS)
    moves = {a.pk: Move(rolled_out=c.rolled_bytes) for c, a in rolled_from}
    for _, bucket, amount in expired:
        moves[bucket.pk] = moves.get(bucket.pk, Move()) + Move(expired=amount)
    move_bytes(moves)
    insert_objects([b for _, b in rollovers], BUCKET_FIELDS)
    entries = [
        (c.household_id, a.pk, Entry.ROLL_OUT, c.rolled_bytes, ends[c.household_id], c.pk)
        for c, a in rolled_from
    ]
    entries += [grant_entries([b], Entry.ROLL_IN, close=c)[0] for c, b in rollovers]
    entries += [
        (c.household_id, b.pk, Entry.EXPIRY, amount, b.expires_at, c.pk) for c, b, amount in expired
    ]
    write_entries(entries)
    return closes


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
    closes = defaultdict(list)
    by_pk = {h.pk: h for h in households}
    rounds = max((len(p) for p in pending.values()), default=0)
    for index in range(rounds):
        pairs = [
            (by_pk[pk], periods[index]) for pk, periods in pending.items() if len(periods) > index
        ]
        for close in _close_round(pairs, terms, now):
            closes[close.household_id].append(close)
    return closes


def close_lazily(household: Household, *, before: Period, now: datetime) -> None:
    """SPEC R4.6: recording usage or granting at a time in ``before`` first closes every
    earlier period whose grace has passed. The caller holds the lock."""
    close_due([household], now=now, through=before.previous())


# --- the cron close ----------------------------------------------------------------------


@dataclass
class HouseholdCloseResult:
    household: Household
    closes: list[PeriodClose] = field(default_factory=list)
    error: str = ""

    @property
    def rolled_bytes(self) -> int:
        return sum(c.rolled_bytes for c in self.closes)

    @property
    def expired_bytes(self) -> int:
        return sum(c.expired_bytes for c in self.closes)


@dataclass
class CloseReport:
    results: list[HouseholdCloseResult]
    dry_run: bool = False

    @property
    def closed(self) -> list[HouseholdCloseResult]:
        return [r for r in self.results if r.closes]

    @property
    def failures(self) -> list[HouseholdCloseResult]:
        return [r for r in self.results if r.error]

    @property
    def rolled_bytes(self) -> int:
        return sum(r.rolled_bytes for r in self.results)

    @property
    def expired_bytes(self) -> int:
        return sum(r.expired_bytes for r in self.results)


def _close_batch(ids: list[int], *, now, through, dry_run) -> list[HouseholdCloseResult]:
    with transaction.atomic(durable=True):
        households = lock_households(ids)
        terms = load_terms(households)
        closes = close_due(households, now=now, through=through, terms=terms)
        planned = [h for h in households if h.pk in terms]
        open_through(planned, {h.pk: h.period_of(now) for h in planned}, terms)
        if dry_run:
            transaction.set_rollback(True)
    return [HouseholdCloseResult(h, closes.get(h.pk, [])) for h in households]


def close_periods(
    *,
    through: Period | None = None,
    household: Household | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress=None,
) -> CloseReport:
    """SPEC R4: close every period whose grace has passed (no later than ``through``),
    for every household or one, and open each household's current period (R1).

    Households are closed in batches, each batch in one transaction. If a batch fails,
    its households are closed again one by one, each in its own transaction, so a
    household that fails keeps none of its close and the others still close. With
    ``dry_run`` the same work runs and is rolled back, so the report shows exactly what
    would be rolled and expired. ``progress(n)`` is called after each batch.
    """
    now = now or timezone.now()
    households = Household.objects.order_by("pk")
    if household is not None:
        households = households.filter(pk=household.pk)
    ids = list(households.values_list("pk", flat=True))
    results = []
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        try:
            with collector_paused():  # for the batch only: memory stays flat over many
                results += _close_batch(batch, now=now, through=through, dry_run=dry_run)
        except Exception:
            for pk in batch:
                try:
                    results += _close_batch([pk], now=now, through=through, dry_run=dry_run)
                except Exception as error:  # one household's failure must not stop the others
                    logger.exception("closing the periods of household #%s failed", pk)
                    failed = Household.objects.get(pk=pk)
                    results.append(HouseholdCloseResult(failed, error=str(error)))
        if progress is not None:
            progress(len(batch))
    return CloseReport(results, dry_run=dry_run)
