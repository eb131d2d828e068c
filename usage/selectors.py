"""Reads: the pool status and history that pages and ``pool_status`` show."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import Household
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, PeriodClose, Zone
from plans.periods import Period
from usage.models import UsageRecord


def period_usage(household: Household) -> dict[str, dict[str, int]]:
    """Used, covered and overage bytes of the household for every period with usage."""
    rows = (
        UsageRecord.objects.filter(household=household)
        .values("period")
        .annotate(used=Sum("bytes"), covered=Sum("covered_bytes"), overage=Sum("overage_bytes"))
    )
    return {row["period"]: row for row in rows}


def _usage_figures(row: dict | None) -> dict[str, int]:
    row = row or {}
    return {
        "used_bytes": row.get("used") or 0,
        "covered_bytes": row.get("covered") or 0,
        "overage_bytes": row.get("overage") or 0,
    }


def member_usage(household: Household, period: Period) -> list[dict]:
    """SPEC pool_status "members": active members and inactive ones with usage in
    ``period``, all zones together, by username."""
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
    return [
        {
            "username": m.username,
            **_usage_figures({"used": m.used, "covered": m.covered, "overage": m.overage}),
            "cap_bytes": m.monthly_cap_bytes,
            "cap_action": m.cap_action,
        }
        for m in members
    ]


def pending_rollover(terms, allowance: Bucket | None) -> int:
    """SPEC R4.7: while P awaits its close, its coming rollover (unused allowance, capped)."""
    if terms is None or not terms.rollover or allowance is None or allowance.left_bytes is None:
        return 0
    cap = terms.rollover_cap_bytes
    return allowance.left_bytes if cap is None else min(allowance.left_bytes, cap)


def pool_status(household: Household, *, now: datetime | None = None) -> dict:
    """The SPEC §3 ``pool_status`` figures for the period containing ``now``.

    Closes nothing (SPEC R4.6); it may open the current period (R1).
    """
    now = now or timezone.now()
    current = household.period_of(now)
    if plan_selectors.latest_terms(household) is not None:
        plan_services.ensure_open(household, current)
    zone = household.calendar.zone

    def iso(value: datetime) -> str:
        return value.astimezone(zone).isoformat()

    terms = plan_selectors.terms_for(household, current)
    order = terms.consumption_order if terms else "rollover_first"
    valid = list(plan_selectors.valid_buckets(household, now))
    buckets = [
        bucket
        for z in (Zone.DOMESTIC, Zone.ROAMING)
        for bucket in plan_selectors.allocation_order(
            [b for b in valid if b.zone == z], consumption_order=order, zone=z
        )
    ]
    remaining = {}
    for z in Zone.values:
        lefts = [b.left_bytes for b in buckets if b.zone == z]
        remaining[z] = None if None in lefts else sum(lefts)

    usage_by_period = period_usage(household)
    awaiting_periods = plan_selectors.unclosed_ended(household, now)
    allowances = {
        b.period: b
        for b in Bucket.objects.filter(
            household=household,
            kind=Bucket.Kind.ALLOWANCE,
            zone=Zone.DOMESTIC,
            period__in=[p.key for p in awaiting_periods],
        )
    }
    awaiting = [
        {
            "period": p.key,
            **_usage_figures(usage_by_period.get(p.key)),
            "pending_rollover_bytes": pending_rollover(
                plan_selectors.terms_for(household, p), allowances.get(p.key)
            ),
            "closes_after": iso(plan_selectors.closes_after(household, p)),
        }
        for p in awaiting_periods
    ]
    history = [
        {
            "period": close.period,
            **_usage_figures(usage_by_period.get(close.period)),
            "rolled_bytes": close.rolled_bytes,
            "expired_bytes": close.expired_bytes,
        }
        for close in PeriodClose.objects.filter(household=household).order_by("-period")
    ]
    return {
        "household": household.slug,
        "period": current.key,
        "remaining_bytes": remaining,
        "rollover_remaining_bytes": sum(
            b.left_bytes for b in buckets if b.kind == Bucket.Kind.ROLLOVER
        ),
        "buckets": [
            {
                "kind": b.kind,
                "zone": b.zone,
                "granted_bytes": b.granted_bytes,
                "remaining_bytes": b.left_bytes,
                "valid_from": iso(b.valid_from),
                "expires_at": iso(b.expires_at),
            }
            for b in buckets
        ],
        "members": member_usage(household, current),
        "awaiting_close": awaiting,
        "history": history,
    }
