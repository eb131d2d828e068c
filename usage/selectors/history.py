"""The History page's closed periods, without the rest of the dashboard."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum
from django.utils import timezone

from accounts.models import Household
from usage.models import UsageRecord
from usage.selectors.figures import PeriodFigures, period_figures
from usage.selectors.pool import closes_of, open_current

HISTORY_PERIODS = 12


def closed_periods(
    household: Household, *, limit: int = HISTORY_PERIODS, now: datetime | None = None
) -> list[PeriodFigures]:
    """The last ``limit`` closed periods, newest first: used, covered and overage (all
    zones together), rolled over and expired. Three queries at most, whatever the number
    of members or months; like every page it may open the current period (R1)."""
    _, terms = open_current(household, now or timezone.now())
    closes = closes_of(household, limit=limit)
    keys = [c.period for c in closes]
    usage = {
        row["period"]: row
        for row in UsageRecord.objects.filter(household=household, period__in=keys)
        .order_by()
        .values("period")
        .annotate(
            used=Sum("bytes"),
            covered=Sum("covered_bytes"),
            overage=Sum("overage_bytes"),
            capped=Sum("capped_bytes"),
            beyond_fair_use=Sum("beyond_fair_use_bytes"),
        )
    }
    return [
        period_figures(
            usage,
            c.period,
            terms=terms,
            rolled_bytes=c.rolled_bytes,
            expired_bytes=c.expired_bytes,
        )
        for c in closes
    ]
