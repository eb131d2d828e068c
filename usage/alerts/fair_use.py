"""The figures of the fair-use alert (SPEC R10) and the terms alerts name uncovered
bytes by (R12), read for a batch of households at once."""

from __future__ import annotations

from django.db.models import Sum

from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Terms
from plans.rules import roams_from_domestic
from usage.alerts.figures import Batch
from usage.models import UsageRecord


def batch_terms(batch: Batch) -> dict[tuple[int, str], Terms]:
    """(household, period) -> the terms in force, for every period of the batch that
    has a plan (one query)."""
    rows = plan_services.load_terms([t.household for t in batch.values()])
    found = {}
    for pk, target in batch.items():
        for period in target.periods:
            terms = plan_selectors.terms_in_force(rows.get(pk, []), period)
            if terms is not None:
                found[pk, period.key] = terms
    return found


def volumes(terms: dict[tuple[int, str], Terms]) -> dict[tuple[int, str], int]:
    """(household, period) -> each member's fair-use volume, where roaming comes out of
    the domestic pool up to one."""
    return {
        key: t.roaming_fair_use_bytes
        for key, t in terms.items()
        if roams_from_domestic(t) and t.roaming_fair_use_bytes is not None
    }


def fair_use_usage(volume_of: dict[tuple[int, str], int]) -> dict[tuple[int, str], int]:
    """(member, period) -> the domestic bytes the member's roaming drew, for the
    households and periods with a volume (no query without one)."""
    if not volume_of:
        return {}
    households = {pk for pk, _ in volume_of}
    periods = {key for _, key in volume_of}
    return {
        (member_id, period): used or 0
        for household_id, member_id, period, used in UsageRecord.objects.filter(
            household_id__in=households, period__in=periods, from_domestic_bytes__gt=0
        )
        .values("household_id", "member_id", "period")
        .annotate(used=Sum("from_domestic_bytes"))
        .values_list("household_id", "member_id", "period", "used")
        if (household_id, period) in volume_of
    }
