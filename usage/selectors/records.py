"""Reads about one member: their own records this period, their alert opt-outs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.core.paginator import Page, Paginator
from django.utils import timezone

from accounts.models import Member
from core.periods import Period
from plans import selectors as plan_selectors
from usage.models import UsageRecord

RECORDS_PER_PAGE = 20


@dataclass
class MyUsage:
    period: Period
    page: Page  # of the member's records in ``period``, newest first
    zone: tzinfo  # the household's time zone
    # SPEC R12: the period's terms, which name the bytes the pool did not cover.
    when_pool_is_empty: str | None = None


def my_usage(
    member: Member,
    *,
    page: int | str | None = None,
    per_page: int = RECORDS_PER_PAGE,
    now: datetime | None = None,
) -> MyUsage:
    """The member's records in the period containing ``now``, newest first, one page of
    them (the first when ``page`` is missing or not a page number; the last when past
    it), and the period's ``when_pool_is_empty``. Three queries, whatever the number of
    records; it opens nothing."""
    household = member.household
    period = household.period_of(now or timezone.now())
    records = UsageRecord.objects.filter(member=member, period=period.key).order_by(
        "-started_at", "-id"
    )
    return MyUsage(
        period=period,
        page=Paginator(records, per_page).get_page(page),
        zone=household.calendar.zone,
        when_pool_is_empty=getattr(
            plan_selectors.terms_for(household, period), "when_pool_is_empty", None
        ),
    )


def alert_opt_outs(member: Member) -> set[str]:
    """The kinds of alert the member turned off."""
    return set(member.alert_opt_outs.values_list("kind", flat=True))
