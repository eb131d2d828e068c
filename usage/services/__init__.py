"""Writes for usage (SPEC R3, R5): the public API."""

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
