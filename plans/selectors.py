"""Reads about plans, terms, buckets and closes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max

from accounts.models import Household
from core.periods import Period
from plans.models import Bucket, PeriodClose, Terms, Zone


def grace() -> timedelta:
    return timedelta(hours=settings.CLOSE_GRACE_HOURS)


def terms_in_force(terms: list[Terms], period: Period) -> Terms | None:
    """The row of ``terms`` (sorted by period) that applies to ``period``."""
    found = None
    for row in terms:
        if row.period <= period.key:
            found = row
        else:
            break
    return found


def terms_for(household: Household, period: Period) -> Terms | None:
    return (
        Terms.objects.filter(household=household, period__lte=period.key)
        .order_by("-period")
        .first()
    )


def latest_terms(household: Household) -> Terms | None:
    return Terms.objects.filter(household=household).order_by("-period").first()


def last_closed(household: Household) -> Period | None:
    key = (
        PeriodClose.objects.filter(household=household)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )
    return Period.parse(key) if key else None


def last_closed_many(households: list[Household]) -> dict[int, Period | None]:
    """``last_closed`` of many households, a query per few hundred of them."""
    found = dict.fromkeys((h.pk for h in households), None)
    ids = list(found)
    for start in range(0, len(ids), 500):
        rows = (
            PeriodClose.objects.filter(household_id__in=ids[start : start + 500])
            .values("household_id")
            .annotate(last=Max("period"))
            .values_list("household_id", "last")
        )
        for pk, key in rows:
            found[pk] = Period.parse(key)
    return found


def last_due(household: Household, now: datetime) -> Period:
    """The newest period whose grace has passed at ``now`` (SPEC R4)."""
    return household.period_of(now - grace()).previous()


def closes_after(household: Household, period: Period) -> datetime:
    return household.calendar.end(period) + grace()


def domestic_left(households: list[Household], *, now: datetime) -> dict[int, int | None]:
    """Each household's domestic data left at ``now`` (SPEC §3 ``remaining_bytes``):
    the sum over every domestic bucket valid then, None when an unlimited one is. One
    query for all of them; the caller opened the periods (R1)."""
    left: dict[int, int | None] = dict.fromkeys((h.pk for h in households), 0)
    unlimited = set()
    for household_id, bytes in Bucket.objects.filter(
        household__in=households, zone=Zone.DOMESTIC, valid_from__lte=now, expires_at__gt=now
    ).values_list("household_id", "left_bytes"):
        if bytes is None:
            unlimited.add(household_id)
        else:
            left[household_id] += bytes
    return {pk: None if pk in unlimited else value for pk, value in left.items()}
