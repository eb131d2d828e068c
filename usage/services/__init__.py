"""Writes for usage (SPEC R3, R5): the public API."""

from usage.rules import Draw, derive_ref, draw, same_content
from usage.services.allocation import Usage, allocate
from usage.services.csv_file import ImportRefused, Row, read_rows
from usage.services.imports import ImportReport, import_usage
from usage.services.recording import FUTURE_TOLERANCE, record_usage

__all__ = [
    "FUTURE_TOLERANCE",
    "Draw",
    "ImportRefused",
    "ImportReport",
    "Row",
    "Usage",
    "allocate",
    "derive_ref",
    "draw",
    "import_usage",
    "read_rows",
    "record_usage",
    "same_content",
]
