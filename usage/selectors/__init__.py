"""Reads: the household's pool, members and history, for pages and ``pool_status``.

``snapshot`` gathers the dashboard's figures in a handful of queries whatever the size
of the household; ``pool_status`` turns it into the JSON shape of SPEC §3. The History
page (``closed_periods``) and "My usage" (``my_usage``) have reads of their own.
"""

from usage.selectors.figures import MemberFigures, PeriodFigures, Snapshot
from usage.selectors.history import HISTORY_PERIODS, closed_periods
from usage.selectors.pool import forecast, member_figures, pending_rollover, snapshot
from usage.selectors.records import RECORDS_PER_PAGE, MyUsage, alert_opt_outs, my_usage
from usage.selectors.status import pool_status
from usage.selectors.terms import (
    bank,
    coming_forfeit,
    fair_use,
    household_uncovered,
    member_uncovered,
    period_uncovered,
    pool_empty_words,
    uncovered_parts,
)

__all__ = [
    "HISTORY_PERIODS",
    "RECORDS_PER_PAGE",
    "MemberFigures",
    "MyUsage",
    "PeriodFigures",
    "Snapshot",
    "alert_opt_outs",
    "bank",
    "closed_periods",
    "coming_forfeit",
    "fair_use",
    "forecast",
    "household_uncovered",
    "member_figures",
    "member_uncovered",
    "my_usage",
    "pending_rollover",
    "period_uncovered",
    "pool_empty_words",
    "pool_status",
    "snapshot",
    "uncovered_parts",
]
