"""What is refused (SPEC R5), as plain predicates returning a ``Problem``."""

from __future__ import annotations

from datetime import datetime

from core.periods import EARLIEST, LATEST, Period
from core.problems import Problem

# --- R5: what is refused ------------------------------------------------------------------


def closed_period_problem(
    period: Period, last_closed: Period | None, field: str, at: datetime
) -> Problem | None:
    """SPEC R5: nothing may land in a closed period (``last_closed``: the household's
    newest closed period, None if none)."""
    if last_closed is not None and period <= last_closed:
        return Problem(field, f"falls in period {period.key}, which is closed", at.isoformat())
    return None


def before_start_problem(period: Period, start: Period, field: str, at: datetime) -> Problem | None:
    """SPEC R5: nothing may land before the household's start period ``start``."""
    if period < start:
        return Problem(field, f"is before the household's start period {start.key}", at.isoformat())
    return None


def date_range_problem(field: str, value: datetime) -> Problem | None:
    """A time must lie in the years the calendar handles (1900 to 8999)."""
    if not EARLIEST <= value < LATEST:
        return Problem(field, "must be from the year 1900 to 8999", value.isoformat())
    return None


def expiry_problem(at: datetime, expires_at: datetime) -> Problem | None:
    """SPEC R2: a grant expires after it becomes valid."""
    if expires_at <= at:
        return Problem(
            "expires_at", f"must be after the grant time {at.isoformat()}", expires_at.isoformat()
        )
    return None


# --- R10: the fair-use volume -------------------------------------------------------------


def fair_use_problem(roaming_mode: str, fair_use_bytes: int | None) -> Problem | None:
    """SPEC R10: a fair-use volume means something only when roaming comes out of the
    domestic allowance (``from_domestic``); with ``separate`` it must be empty."""
    if roaming_mode != "from_domestic" and fair_use_bytes is not None:
        return Problem(
            "roaming_fair_use_bytes",
            f"means nothing with roaming_mode {roaming_mode}: must be null",
            fair_use_bytes,
        )
    return None
