"""Writes for plans, buckets and period closes (SPEC R1, R2, R4): the public API."""

from plans.household_file.problems import HouseholdFileRefused
from plans.household_file.report import HouseholdImportReport
from plans.household_file.schema import check_household_file, read_household_file
from plans.services.calendar import change_calendar
from plans.services.checks import as_aware, refuse_before_start, refuse_closed, require_plan
from plans.services.close_inputs import pending_rollovers
from plans.services.closing import close_due, close_lazily
from plans.services.cron import CloseReport, HouseholdCloseResult, close_periods
from plans.services.grants import extend_expiry, grant
from plans.services.household_file import import_household
from plans.services.ledger import Move, move_bytes
from plans.services.locks import lock_household, lock_households
from plans.services.opening import ensure_open, open_periods, open_through
from plans.services.terms import create_plan, load_terms, set_plan, update_plan

__all__ = [
    "CloseReport",
    "HouseholdCloseResult",
    "HouseholdFileRefused",
    "HouseholdImportReport",
    "Move",
    "as_aware",
    "change_calendar",
    "check_household_file",
    "close_due",
    "close_lazily",
    "close_periods",
    "create_plan",
    "ensure_open",
    "extend_expiry",
    "grant",
    "import_household",
    "load_terms",
    "lock_household",
    "lock_households",
    "move_bytes",
    "open_periods",
    "open_through",
    "pending_rollovers",
    "read_household_file",
    "refuse_before_start",
    "refuse_closed",
    "require_plan",
    "set_plan",
    "update_plan",
]
