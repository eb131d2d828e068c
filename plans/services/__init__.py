"""Writes for plans, buckets and period closes (SPEC R1, R2, R4): the public API."""

from plans.services.checks import as_aware, refuse_before_start, refuse_closed, require_plan
from plans.services.closing import close_due, close_lazily
from plans.services.cron import CloseReport, HouseholdCloseResult, close_periods
from plans.services.grants import extend_expiry, grant
from plans.services.ledger import Move, move_bytes
from plans.services.locks import lock_household, lock_households
from plans.services.opening import ensure_open, open_periods, open_through
from plans.services.terms import create_plan, load_terms, set_plan, update_plan

__all__ = [
    "CloseReport",
    "HouseholdCloseResult",
    "Move",
    "as_aware",
    "close_due",
    "close_lazily",
    "close_periods",
    "create_plan",
    "ensure_open",
    "extend_expiry",
    "grant",
    "load_terms",
    "lock_household",
    "lock_households",
    "move_bytes",
    "open_periods",
    "open_through",
    "refuse_before_start",
    "refuse_closed",
    "require_plan",
    "set_plan",
    "update_plan",
]
