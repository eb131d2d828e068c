"""Writes for usage (SPEC R3, R5): the public API."""

from usage.services.households import (
    HouseholdFileRefused,
    HouseholdImportReport,
    calendar_is_fixed,
    change_calendar,
    check_household_file,
    import_household,
    read_household_file,
)
from usage.services.imports import ImportRefused, ImportReport, Row, import_usage, read_rows
from usage.services.recording import (
    FUTURE_TOLERANCE,
    Draw,
    Usage,
    allocate,
    derive_ref,
    draw,
    record_usage,
    same_content,
)

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
