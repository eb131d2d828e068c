"""Writes for plans, buckets and period closes (SPEC R1, R2, R4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.errors import Refused, require_bytes, require_choice
from accounts.models import MAX_BYTES, Household
from plans import selectors
from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms, Zone
from plans.periods import Period, period_range

logger = logging.getLogger(__name__)

Entry = LedgerEntry.Kind


# --- locking ---------------------------------------------------------------------------


def lock_household(household: Household) -> Household:
    """Lock the household row for this transaction and return it fresh.

    Every write that moves a household's bytes takes this lock first, so writers on
    one household run one after the other (PostgreSQL row lock; on SQLite the
    IMMEDIATE transaction already serialises writers).
    """
    return Household.objects.select_for_update().get(pk=household.pk)


def lock_rows(queryset) -> list:
    """Lock rows in primary-key order, the one fixed order that avoids deadlocks."""
    return list(queryset.select_for_update().order_by("pk"))


def as_aware(household: Household, value: datetime, field_name: str) -> datetime:
    """An aware datetime; a time without an offset is read in the household's zone."""
    if not isinstance(value, datetime):
        raise Refused(field_name, "must be a date and time", value)
    if timezone.is_naive(value):
        return value.replace(tzinfo=household.calendar.zone)
    return value


# --- plans and terms -------------------------------------------------------------------


def _clean_plan(plan: Plan) -> None:
    try:
        plan.full_clean(exclude=["household"])
    except ValidationError as error:
        name, messages = next(iter(error.message_dict.items()))
        raise Refused(name, messages[0], getattr(plan, name, None)) from error


def create_plan(household: Household, *, name: str, **terms) -> Plan:
    plan = Plan(household=household, name=name, **terms)
    _clean_plan(plan)
    plan.save()
    return plan


def _has_activity(household: Household) -> bool:
    """Anything opened, granted or closed: periods already accounted for."""
    return bool(household.opened_through) or household.closes.exists()


def _first_changeable_period(household: Household, now: datetime) -> Period:
    """SPEC §1 "Terms in force": the next period, and never one already opened."""
    if not _has_activity(household):
        return household.first_period
    candidate = household.period_of(now).next()
    if household.opened_through:
        candidate = max(candidate, Period.parse(household.opened_through).next())
    return max(candidate, household.first_period)


def set_plan(household: Household, plan: Plan, *, now: datetime | None = None) -> Terms:
    """Put ``plan``'s terms in force for ``household``: from the start period while the
    household has no activity, otherwise from the next period not yet opened."""
    if plan.household_id != household.pk:
        raise Refused("plan", "belongs to another household", plan)
    now = now or timezone.now()
    with transaction.atomic():
        household = lock_household(household)
        period = _first_changeable_period(household, now)
        terms, _ = Terms.objects.update_or_create(
            household=household,
            period=period.key,
            defaults={"plan": plan, **plan.term_values()},
        )
    return terms


def update_plan(plan: Plan, *, now: datetime | None = None, **changes) -> Plan:
    """Edit a plan; households using it get the new terms from their next period."""
    for name, value in changes.items():
        if name not in (*Plan.TERM_FIELDS, "name", "monthly_price"):
            raise Refused(name, "is not a plan field", value)
        setattr(plan, name, value)
    _clean_plan(plan)
    with transaction.atomic():
        plan.save()
        users = Household.objects.filter(terms__plan=plan).distinct()
        for household in users:
            current = selectors.latest_terms(household)
            if current is not None and current.plan_id == plan.pk:
                set_plan(household, plan, now=now)
    return plan


# --- R1: opening periods ---------------------------------------------------------------


def _grant_entries(buckets: list[Bucket], kind: str = Entry.GRANT) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            household_id=b.household_id,
            bucket=b,
            kind=kind,
            bytes=b.granted_bytes,
            at=b.valid_from,
        )
        for b in buckets
    ]


def open_periods(household: Household, through: Period) -> None:
    """SPEC R1: create the allowance buckets of every period up to ``through``, in
    order and never twice. The caller holds the household lock."""
    first = household.first_period
    opened = Period.parse(household.opened_through) if household.opened_through else None
    start = opened.next() if opened else first
    if through < start:
        return
    terms = list(Terms.objects.filter(household=household).order_by("period"))
    calendar = household.calendar
    buckets = []
    for period in period_range(start, through):
        in_force = selectors.terms_in_force(terms, period)
        if in_force is None:
            raise Refused("plan", "the household has no plan for this period", period.key)
        common = {
            "household": household,
            "kind": Bucket.Kind.ALLOWANCE,
            "period": period.key,
            "valid_from": calendar.start(period),
            "expires_at": calendar.end(period),
        }
        domestic = in_force.monthly_allowance_bytes
        buckets.append(
            Bucket(zone=Zone.DOMESTIC, granted_bytes=domestic, left_bytes=domestic, **common)
        )
        roaming = in_force.roaming_allowance_bytes
        if roaming > 0:
            buckets.append(
                Bucket(zone=Zone.ROAMING, granted_bytes=roaming, left_bytes=roaming, **common)
            )
    Bucket.objects.bulk_create(buckets)
    LedgerEntry.objects.bulk_create(_grant_entries(buckets))
    Household.objects.filter(pk=household.pk).update(opened_through=through.key)
    household.opened_through = through.key


def ensure_open(household: Household, through: Period) -> None:
    """Open periods up to ``through`` if needed, in a transaction of its own (reads)."""
    opened = Household.objects.filter(pk=household.pk).values_list("opened_through", flat=True)
    current = opened.get()
    if current and Period.parse(current) >= through:
        household.opened_through = current
        return
    if through < household.first_period:
        return
    with transaction.atomic():
        locked = lock_household(household)
        open_periods(locked, through)
        household.opened_through = locked.opened_through


# --- R2: packs -------------------------------------------------------------------------


def grant(
    household: Household,
    *,
    kind: str,
    zone: str,
    bytes: int,
    at: datetime | None = None,
    expires_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Bucket:
    """SPEC R2: grant an add-on or bonus, valid from ``at`` (default now) until
    ``expires_at`` (default the end of the period containing ``at``)."""
    now = now or timezone.now()
    require_choice("kind", kind, [Bucket.Kind.ADDON, Bucket.Kind.BONUS])
    require_choice("zone", zone, list(Zone.values))
    require_bytes("bytes", bytes, minimum=1, maximum=MAX_BYTES)
    if len(note) > 200:
        raise Refused("note", "must be at most 200 characters", note[:40] + "…")
    at = as_aware(household, at or now, "at")
    period = household.period_of(at)
    if period < household.first_period:
        raise Refused(
            "at", f"is before the household's start period {household.start_period}", at.isoformat()
        )
    calendar = household.calendar
    expires_at = (
        calendar.end(period)
        if expires_at is None
        else as_aware(household, expires_at, "expires_at")
    )
    if expires_at <= at:
        raise Refused(
            "expires_at", f"must be after the grant time {at.isoformat()}", expires_at.isoformat()
        )
    with transaction.atomic(durable=True):
        household = lock_household(household)
        refuse_closed(household, period, "at", at)
        close_due(household, before=period, now=now)
        open_periods(household, period)
        bucket = Bucket.objects.create(
            household=household,
            kind=kind,
            zone=zone,
            period=period.key,
            granted_bytes=bytes,
            left_bytes=bytes,
            valid_from=at,
            expires_at=expires_at,
            note=note,
        )
        LedgerEntry.objects.bulk_create(_grant_entries([bucket]))
    return bucket


def refuse_closed(household: Household, period: Period, field_name: str, at: datetime) -> None:
    """SPEC R5: nothing may land in a closed period."""
    if selectors.is_closed(household, period):
        raise Refused(field_name, f"falls in period {period.key}, which is closed", at.isoformat())


# --- R4: closing periods ---------------------------------------------------------------


def close_period(household: Household, period: Period, *, now: datetime) -> PeriodClose:
    """SPEC R4.1–R4.4 for one period. The caller holds the household lock and has
    closed every earlier period."""
    calendar = household.calendar
    end = calendar.end(period)
    terms = selectors.terms_for(household, period)
    open_periods(household, period.next())
    allowance = Bucket.objects.get(
        household=household, kind=Bucket.Kind.ALLOWANCE, zone=Zone.DOMESTIC, period=period.key
    )
    unused = allowance.left_bytes
    rolled = 0
    if terms.rollover and unused is not None:
        cap = terms.rollover_cap_bytes
        rolled = unused if cap is None else min(unused, cap)
    close = PeriodClose.objects.create(
        household=household,
        period=period.key,
        unused_bytes=unused,
        rolled_bytes=rolled,
        closed_at=now,
    )
    entries = []
    if rolled:
        Bucket.objects.filter(pk=allowance.pk).update(
            left_bytes=F("left_bytes") - rolled, rolled_out_bytes=F("rolled_out_bytes") + rolled
        )
        entries.append(
            LedgerEntry(
                household=household,
                bucket=allowance,
                kind=Entry.ROLL_OUT,
                bytes=rolled,
                at=end,
                period_close=close,
            )
        )
        rollover = Bucket.objects.create(
            household=household,
            kind=Bucket.Kind.ROLLOVER,
            zone=Zone.DOMESTIC,
            period=period.key,
            granted_bytes=rolled,
            left_bytes=rolled,
            valid_from=end,
            expires_at=calendar.start(period.shift(1 + terms.rollover_months)),
            note=f"Rolled over from {period.key}",
        )
        entries.append(
            LedgerEntry(
                household=household,
                bucket=rollover,
                kind=Entry.ROLL_IN,
                bytes=rolled,
                at=end,
                period_close=close,
            )
        )
    # R4.2: whatever reaches its end by P's end and still has bytes expires now.
    expiring = list(
        Bucket.objects.filter(
            household=household, expires_at__lte=end, left_bytes__gt=0
        ).values_list("pk", "left_bytes", "expires_at")
    )
    if expiring:
        Bucket.objects.filter(pk__in=[pk for pk, _, _ in expiring]).update(
            expired_bytes=F("expired_bytes") + F("left_bytes"), left_bytes=0
        )
        entries += [
            LedgerEntry(
                household=household,
                bucket_id=pk,
                kind=Entry.EXPIRY,
                bytes=left,
                at=expires,
                period_close=close,
            )
            for pk, left, expires in expiring
        ]
        close.expired_bytes = sum(left for _, left, _ in expiring)
        close.save(update_fields=["expired_bytes"])
    LedgerEntry.objects.bulk_create(entries)
    return close


def close_due(
    household: Household,
    *,
    now: datetime,
    before: Period | None = None,
    through: Period | None = None,
) -> list[PeriodClose]:
    """SPEC R4.5–R4.6: close, oldest first, every period whose grace has passed (and
    that is before ``before`` / no later than ``through``). Caller holds the lock."""
    latest = selectors.last_closed(household)
    first = latest.next() if latest else household.first_period
    last = selectors.last_due(household, now)
    if before is not None:
        last = min(last, before.previous())
    if through is not None:
        last = min(last, through)
    return [close_period(household, period, now=now) for period in period_range(first, last)]


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


def close_periods(
    *,
    through: Period | None = None,
    household: Household | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> CloseReport:
    """SPEC R4: close every period whose grace has passed, household by household, each
    in its own transaction; a household that fails keeps none of its close and does not
    stop the others. Also opens every household's current period (R1).

    With ``dry_run`` the same work runs and is rolled back, so the report shows exactly
    what would be rolled and expired.
    """
    now = now or timezone.now()
    households = Household.objects.order_by("pk")
    if household is not None:
        households = households.filter(pk=household.pk)
    results = []
    for each in households.iterator():
        result = HouseholdCloseResult(each)
        if not each.opened_through and selectors.latest_terms(each) is None:
            results.append(result)  # no plan yet: nothing to account for
            continue
        try:
            with transaction.atomic(durable=True):
                locked = lock_household(each)
                result.closes = close_due(locked, now=now, through=through)
                current = locked.period_of(now)
                open_periods(locked, current)
                if dry_run:
                    transaction.set_rollback(True)
        except (DatabaseError, ValidationError) as error:
            result.closes = []
            result.error = str(error)
            logger.exception("closing periods of %s failed", each.slug)
        results.append(result)
    return CloseReport(results, dry_run=dry_run)
