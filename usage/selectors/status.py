"""``pool_status``: the dashboard's figures in the JSON shape of SPEC §3."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Household
from plans.rules import order_as_list, roams_from_domestic
from usage.selectors.figures import PeriodFigures
from usage.selectors.pool import snapshot


def pool_status(household: Household, *, now: datetime | None = None) -> dict:
    """The SPEC §3 ``pool_status`` JSON shape for the period containing ``now``."""
    snap = snapshot(household, now=now)
    zone = household.calendar.zone
    from_domestic = roams_from_domestic(snap.terms)

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
                "roaming_from_domestic_bytes": m.from_domestic_bytes if from_domestic else 0,
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
        "terms": terms_figures(snap.terms),
    }


def terms_figures(terms) -> dict | None:
    """SPEC R12: the carrier terms of the current period (none without a plan)."""
    if terms is None:
        return None
    return {
        "consumption_order": order_as_list(terms.consumption_order),
        "roaming_mode": terms.roaming_mode,
        "roaming_fair_use_bytes": terms.roaming_fair_use_bytes,
        "rollover_bank_cap_bytes": terms.rollover_bank_cap_bytes,
        "rollover_on_plan_change": terms.rollover_on_plan_change,
        "when_pool_is_empty": terms.when_pool_is_empty,
    }
