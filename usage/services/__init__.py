"""Writes for usage (SPEC R3, R5): the public API."""

from usage.rules import Draw, derive_ref, draw, same_content
from usage.services.allocation import Usage, allocate
from usage.services.csv_file import ImportRefused, Row, read_rows
from usage.services.households import (
    HouseholdFileRefused,
    HouseholdImportReport,
    calendar_is_fixed,
    change_calendar,
    check_household_file,
    import_household,
    read_household_file,
)
from usage.services.imports import ImportReport, import_usage
from usage.services.recording import FUTURE_TOLERANCE, record_usage

__all__ = [
    "FUTURE_TOLERANCE",
    "Draw",
    "HouseholdFileRefused",
    "HouseholdImportReport",
    "ImportRefused",
    "ImportReport",
    "Row",
    "Usage",
    "allocate",
    "calendar_is_fixed",
    "change_calendar",
    "check_household_file",
    "derive_ref",
    "draw",
    "import_household",
    "import_usage",
    "read_household_file",
    "read_rows",
    "record_usage",
    "same_content",
]
