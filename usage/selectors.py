"""Reads: the household's pool, members and history, for pages and ``pool_status``.

``snapshot`` gathers everything in a handful of queries whatever the size of the
household; ``pool_status`` turns it into the JSON shape of SPEC §3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from accounts.models import Household, Member
from core.periods import Period, period_range
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, PeriodClose, Zone
from usage.models import UsageRecord


@dataclass
class MemberFigures:
    member: Member
    used_bytes: int
    covered_bytes: int
    overage_bytes: int

    @property
    def cap_bytes(self) -> int | None:
        return self.member.monthly_cap_bytes

    @property
    def over_cap(self) -> bool:
        cap = self.cap_bytes
        return cap is not None and self.used_bytes > cap

    @property
    def cap_percent(self) -> int | None:
        """Used bytes as a share of the cap, for the bar (capped at 100)."""
        if not self.cap_bytes:
            return None
        return min(100, round(100 * self.used_bytes / self.cap_bytes))


@dataclass
class PeriodFigures:
    period: str
    used_bytes: int = 0
    covered_bytes: int = 0
    overage_bytes: int = 0
    rolled_bytes: int = 0
    expired_bytes: int = 0
    pending_rollover_bytes: int = 0
    closes_after: datetime | None = None


@dataclass
class Snapshot:
    """The household at ``now``: the current period's pool, members, the periods
    awaiting their close and the closed ones (newest first)."""

    household: Household
    now: datetime
    period: Period
    start: datetime
    end: datetime
    buckets: list[Bucket]
    members: list[MemberFigures]
    awaiting: list[PeriodFigures]
    history: list[PeriodFigures]
    newest_usage_at: datetime | None
    used_by_zone: dict[str, int]
    remaining: dict[str, int | None] = field(init=False)

    def __post_init__(self) -> None:
        self.remaining = {}
        for zone in Zone.values:
            lefts = [b.left_bytes for b in self.buckets if b.zone == zone]
            self.remaining[zone] = None if None in lefts else sum(lefts)

    @property
    def last_instant(self) -> datetime:
        """The period's last moment, for showing its last day (``end`` is exclusive)."""
        return self.end - timedelta(microseconds=1)

    @property
    def rollover_buckets(self) -> list[Bucket]:
        """Valid rollover buckets, the one expiring soonest first."""
        found = [b for b in self.buckets if b.kind == Bucket.Kind.ROLLOVER]
        return sorted(found, key=lambda b: (b.expires_at, b.pk))

    @property
    def rollover_remaining_bytes(self) -> int:
        return sum(b.left_bytes for b in self.rollover_buckets)

    @property
    def packs(self) -> list[Bucket]:
        """Add-ons and bonuses valid now, the one expiring soonest first."""
        kinds = (Bucket.Kind.ADDON, Bucket.Kind.BONUS)
        return sorted(
            (b for b in self.buckets if b.kind in kinds), key=lambda b: (b.expires_at, b.pk)
        )

    @property
    def used_bytes(self) -> int:
        return sum(m.used_bytes for m in self.members)

    @property
    def overage_bytes(self) -> int:
        return sum(m.overage_bytes for m in self.members)


def snapshot(household: Household, *, now: datetime | None = None) -> Snapshot:
    """Everything the pages and ``pool_status`` show, in five queries.

    Closes nothing (SPEC R4.6); it may open the current period (R1).
    """
    now = now or timezone.now()
    calendar = household.calendar
    current = household.period_of(now)
    terms = plan_services.load_terms([household]).get(household.pk, [])
    if terms and current >= household.first_period:
        opened = household.opened_through
        if not opened or Period.parse(opened) < current:
            plan_services.ensure_open(household, current)

    closes = list(PeriodClose.objects.filter(household=household).order_by("-period"))
    first_open = Period.parse(closes[0].period).next() if closes else household.first_period
    # A household without a plan has nothing to close: no period awaits a close.
    awaiting_periods = period_range(first_open, current.previous()) if terms else []
    awaiting_keys = [p.key for p in awaiting_periods]
    buckets = list(
        Bucket.objects.filter(household=household).filter(
            Q(valid_from__lte=now, expires_at__gt=now)
            | Q(kind=Bucket.Kind.ALLOWANCE, zone=Zone.DOMESTIC, period__in=awaiting_keys)
        )
    )
    allowances = {
        b.period: b
        for b in buckets
        if b.kind == Bucket.Kind.ALLOWANCE and b.zone == Zone.DOMESTIC and b.period in awaiting_keys
    }
    valid = [b for b in buckets if b.valid_from <= now < b.expires_at]
    in_force = plan_selectors.terms_in_force(terms, current)
    order = in_force.consumption_order if in_force else "rollover_first"
    ordered = [
        bucket
        for zone in Zone.values
        for bucket in plan_selectors.allocation_order(
            [b for b in valid if b.zone == zone], consumption_order=order, zone=zone
        )
    ]

    usage: dict[str, dict] = {}
    used_by_zone = dict.fromkeys(Zone.values, 0)
    for row in (
        UsageRecord.objects.filter(household=household)
        .values("period", "zone")
        .annotate(
            used=Sum("bytes"),
            covered=Sum("covered_bytes"),
            overage=Sum("overage_bytes"),
            newest=Max("started_at"),
        )
    ):
        total = usage.setdefault(row["period"], {"used": 0, "covered": 0, "overage": 0})
        for key in ("used", "covered", "overage"):
            total[key] += row[key]
        total["newest"] = max(filter(None, [total.get("newest"), row["newest"]]))
        if row["period"] == current.key:
            used_by_zone[row["zone"]] = row["used"]

    def figures(key: str, **extra) -> PeriodFigures:
        row = usage.get(key, {})
        return PeriodFigures(
            key,
            used_bytes=row.get("used") or 0,
            covered_bytes=row.get("covered") or 0,
            overage_bytes=row.get("overage") or 0,
            **extra,
        )

    awaiting = [
        figures(
            p.key,
            pending_rollover_bytes=pending_rollover(
                plan_selectors.terms_in_force(terms, p), allowances.get(p.key)
            ),
            closes_after=plan_selectors.closes_after(household, p),
        )
        for p in awaiting_periods
    ]
    history = [
        figures(c.period, rolled_bytes=c.rolled_bytes, expired_bytes=c.expired_bytes)
        for c in closes
    ]
    newest = max((row["newest"] for row in usage.values()), default=None)
    return Snapshot(
        household=household,
        now=now,
        period=current,
        start=calendar.start(current),
        end=calendar.end(current),
        buckets=ordered,
        members=member_figures(household, current),
        awaiting=awaiting,
        history=history,
        newest_usage_at=newest,
        used_by_zone=used_by_zone,
    )


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
        )
        .filter(Q(active=True) | Q(records__gt=0))
        .order_by("user__username")
    )
    return [MemberFigures(m, m.used or 0, m.covered or 0, m.overage or 0) for m in members]


def pending_rollover(terms, allowance: Bucket | None) -> int:
    """SPEC R4.7: while P awaits its close, its coming rollover (unused allowance, capped)."""
    if allowance is None:
        return 0
    return plan_selectors.rollover_amount(terms, allowance.left_bytes)


def pool_status(household: Household, *, now: datetime | None = None) -> dict:
    """The SPEC §3 ``pool_status`` JSON shape for the period containing ``now``."""
    snap = snapshot(household, now=now)
    zone = household.calendar.zone

    def iso(value: datetime) -> str:
        return value.astimezone(zone).isoformat()

    def usage_figures(p: PeriodFigures) -> dict:
        return {
            "used_bytes": p.used_bytes,
            "covered_bytes": p.covered_bytes,
            "overage_bytes": p.overage_bytes,
        }

    return {
        "household": household.slug,
        "period": snap.period.key,
        "remaining_bytes": snap.remaining,
        "rollover_remaining_bytes": snap.rollover_remaining_bytes,
        "buckets": [
            {
                "kind": b.kind,
                "zone": b.zone,
                "granted_bytes": b.granted_bytes,
                "remaining_bytes": b.left_bytes,
                "valid_from": iso(b.valid_from),
                "expires_at": iso(b.expires_at),
            }
            for b in snap.buckets
        ],
        "members": [
            {
                "username": m.member.username,
                "used_bytes": m.used_bytes,
                "covered_bytes": m.covered_bytes,
                "overage_bytes": m.overage_bytes,
                "cap_bytes": m.cap_bytes,
                "cap_action": m.member.cap_action,
            }
            for m in snap.members
        ],
        "awaiting_close": [
            {
                "period": p.period,
                **usage_figures(p),
                "pending_rollover_bytes": p.pending_rollover_bytes,
                "closes_after": iso(p.closes_after),
            }
            for p in snap.awaiting
        ],
        "history": [
            {
                "period": p.period,
                **usage_figures(p),
                "rolled_bytes": p.rolled_bytes,
                "expired_bytes": p.expired_bytes,
            }
            for p in snap.history
        ],
    }


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
