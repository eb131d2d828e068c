"""The dashboard's snapshot of the household: the current period's pool, its members,
the periods awaiting their close and the closed ones, in five queries whatever the size
of the household."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from accounts.models import Household
from core.periods import Period, period_range
from plans import rules as plan_rules
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, PeriodClose, Zone
from usage.models import UsageRecord
from usage.rules import valid_at
from usage.selectors.figures import MemberFigures, Snapshot, period_figures


def open_current(household: Household, now: datetime) -> tuple[Period, list]:
    """The period containing ``now``, opened if the household has a plan for it (R1), and
    the household's terms rows, oldest first. Reading never closes anything (R4.6)."""
    current = household.period_of(now)
    terms = plan_services.load_terms([household]).get(household.pk, [])
    if terms and current >= household.first_period:
        opened = household.opened_through
        if not opened or Period.parse(opened) < current:
            plan_services.ensure_open(household, current)
    return current, terms


def closes_of(household: Household, *, limit: int | None = None) -> list[PeriodClose]:
    """The household's closed periods, newest first (the ``limit`` newest if given)."""
    closes = PeriodClose.objects.filter(household=household).order_by("-period")
    return list(closes if limit is None else closes[:limit])


def snapshot(household: Household, *, now: datetime | None = None) -> Snapshot:
    """Everything the dashboard and ``pool_status`` show, in five queries.

    Closes nothing (SPEC R4.6); it may open the current period (R1).
    """
    now = now or timezone.now()
    current, terms = open_current(household, now)
    closes = closes_of(household)
    first_open = Period.parse(closes[0].period).next() if closes else household.first_period
    # A household without a plan has nothing to close: no period awaits a close.
    awaiting_periods = period_range(first_open, current.previous()) if terms else []
    buckets = _buckets(household, now)
    usage, used_by_zone, newest = _usage(household, current)
    pending = pending_rollover(household, awaiting_periods, terms)
    awaiting = [
        period_figures(
            usage,
            p.key,
            pending_rollover_bytes=pending[p.key],
            closes_after=plan_selectors.closes_after(household, p),
        )
        for p in awaiting_periods
    ]
    history = [
        period_figures(
            usage,
            c.period,
            terms=terms,
            rolled_bytes=c.rolled_bytes,
            expired_bytes=c.expired_bytes,
        )
        for c in closes
    ]
    return Snapshot(
        household=household,
        now=now,
        period=current,
        start=household.calendar.start(current),
        end=household.calendar.end(current),
        buckets=_in_allocation_order(buckets, now, terms, current),
        members=member_figures(household, current),
        awaiting=awaiting,
        history=history,
        newest_usage_at=newest,
        used_by_zone=used_by_zone,
        terms=plan_selectors.terms_in_force(terms, current),
        next_terms=plan_selectors.terms_in_force(terms, current.next()),
    )


def _buckets(household: Household, now: datetime) -> list[Bucket]:
    """The buckets valid now (one query)."""
    return list(
        Bucket.objects.filter(
            household=household, valid_from__lte=now, expires_at__gt=now, forfeited=False
        )
    )


def _in_allocation_order(
    buckets: list[Bucket], now: datetime, terms: list, current: Period
) -> list[Bucket]:
    """The buckets valid now, zone by zone, in the order usage is allocated to them."""
    # A forfeited bucket (R9) keeps its dates but is never usable again.
    valid = [b for b in buckets if valid_at(b, now) and not b.forfeited]
    in_force = plan_selectors.terms_in_force(terms, current)
    order = in_force.consumption_order if in_force else "rollover_first"
    return [
        bucket
        for zone in Zone.values
        for bucket in plan_rules.draw_order(
            [b for b in valid if b.zone == zone], consumption_order=order, zone=zone
        )
    ]


SUMS = ("used", "covered", "overage", "capped", "beyond_fair_use")


def _usage(
    household: Household, current: Period
) -> tuple[dict[str, dict], dict[str, int], datetime | None]:
    """Usage sums by period (all zones together), the current period's use by zone and
    the newest usage's start (one query)."""
    usage: dict[str, dict] = {}
    used_by_zone = dict.fromkeys(Zone.values, 0)
    for row in (
        UsageRecord.objects.filter(household=household)
        .values("period", "zone")
        .annotate(
            used=Sum("bytes"),
            covered=Sum("covered_bytes"),
            overage=Sum("overage_bytes"),
            capped=Sum("capped_bytes"),
            beyond_fair_use=Sum("beyond_fair_use_bytes"),
            newest=Max("started_at"),
        )
    ):
        total = usage.setdefault(row["period"], dict.fromkeys(SUMS, 0))
        for key in SUMS:
            total[key] += row[key]
        total["newest"] = max(filter(None, [total.get("newest"), row["newest"]]))
        if row["period"] == current.key:
            used_by_zone[row["zone"]] = row["used"]
    newest = max((row["newest"] for row in usage.values()), default=None)
    return usage, used_by_zone, newest


def member_figures(household: Household, period: Period) -> list[MemberFigures]:
    """Active members, and inactive ones with usage in ``period``, all zones together,
    by username."""
    in_period = Q(usage__period=period.key)
    members = (
        household.members.select_related("user")
        .annotate(
            used=Sum("usage__bytes", filter=in_period),
            covered=Sum("usage__covered_bytes", filter=in_period),
            overage=Sum("usage__overage_bytes", filter=in_period),
            records=Count("usage", filter=in_period),
            from_domestic=Sum("usage__from_domestic_bytes", filter=in_period),
            capped=Sum("usage__capped_bytes", filter=in_period),
            beyond_fair_use=Sum("usage__beyond_fair_use_bytes", filter=in_period),
        )
        .filter(Q(active=True) | Q(records__gt=0))
        .order_by("user__username")
    )
    return [
        MemberFigures(
            m,
            m.used or 0,
            m.covered or 0,
            m.overage or 0,
            from_domestic_bytes=m.from_domestic or 0,
            capped_bytes=m.capped or 0,
            beyond_fair_use_bytes=m.beyond_fair_use or 0,
        )
        for m in members
    ]


def pending_rollover(household: Household, periods: list[Period], terms: list) -> dict[str, int]:
    """SPEC R4.7: while P awaits its close, its coming rollover: what the close would roll
    if it ran now (R4.1 with R8, R9 and R11), the earlier waiting periods taken as closed
    first; the close's own rule on the close's own inputs (no query when none waits)."""
    if not periods:
        return {}
    return plan_services.pending_rollovers(household, periods, terms)


def forecast(snap: Snapshot) -> dict:
    """SPEC §3 forecast of the domestic pool: daily rate = used ÷ days elapsed; the
    instant the pool runs out at that rate (none if it lasts the period); what can be
    used each day until the period ends."""
    elapsed = max((snap.now - snap.start).total_seconds() / 86400, 1 / 24)
    days_left = max((snap.end - snap.now).total_seconds() / 86400, 0)
    rate = snap.used_by_zone[Zone.DOMESTIC] / elapsed
    remaining = snap.remaining[Zone.DOMESTIC]
    runs_out = None
    if remaining is not None and rate > 0:
        at = snap.now + timedelta(days=remaining / rate)
        runs_out = at if at < snap.end else None
    per_day = None
    if remaining is not None and days_left > 0:
        per_day = int(remaining / max(days_left, 1))
    return {
        "daily_rate_bytes": int(rate),
        "runs_out_at": runs_out,
        "per_day_bytes": per_day,
        "days_left": math.ceil(days_left),
    }
