"""The kinds of bucket, and the buckets that opening a period (R1) and a pack (R2) create."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from core.periods import Calendar, Period
from core.problems import Problem

ALLOWANCE, ROLLOVER, BONUS, ADDON = "allowance", "rollover", "bonus", "addon"
DOMESTIC, ROAMING = "domestic", "roaming"

KINDS = (ALLOWANCE, ROLLOVER, BONUS, ADDON)
# SPEC R3.2 and R7: a consumption order names the four kinds in draw order.
KIND_ORDER: dict[str, list[str]] = {
    "rollover_first": [ROLLOVER, ALLOWANCE, BONUS, ADDON],
    "rollover_last": [ALLOWANCE, BONUS, ADDON, ROLLOVER],
}


class BucketSpec(NamedTuple):
    """A bucket to create: what a rule decides, before it is a row."""

    kind: str
    zone: str
    period: str
    granted_bytes: int | None  # None: unlimited
    valid_from: datetime
    expires_at: datetime
    note: str = ""
    rolls_over: bool = False  # R11: a pack banked with the monthly data


# --- R1: opening ----------------------------------------------------------------------


def opening_buckets(calendar: Calendar, period: Period, terms) -> list[BucketSpec]:
    """SPEC R1: the buckets that opening ``period`` creates under ``terms``: a domestic
    allowance of ``monthly_allowance_bytes`` (None: unlimited) and, if
    ``roaming_allowance_bytes`` > 0, a roaming allowance, each valid for exactly P."""
    start, end = calendar.start(period), calendar.end(period)
    domestic = terms.monthly_allowance_bytes
    buckets = [BucketSpec(ALLOWANCE, DOMESTIC, period.key, domestic, start, end)]
    if roaming := terms.roaming_allowance_bytes:
        buckets.append(BucketSpec(ALLOWANCE, ROAMING, period.key, roaming, start, end))
    return buckets


# --- R2: packs ------------------------------------------------------------------------


def pack_bucket(
    calendar: Calendar,
    *,
    kind: str,
    zone: str,
    bytes: int,
    at: datetime,
    expires_at: datetime | None = None,
    note: str = "",
    rolls_over: bool = False,
) -> BucketSpec:
    """SPEC R2: an add-on or bonus of ``bytes``, valid from ``at`` (the grant time) until
    ``expires_at`` or, by default, the end of the period containing ``at``. It belongs
    to that period and changes no other bucket. R11: it may roll over with the monthly
    data (``rolls_over``; a domestic pack only, see ``rolls_over_problem``)."""
    period = calendar.period_of(at)
    end = calendar.end(period) if expires_at is None else expires_at
    return BucketSpec(kind, zone, period.key, bytes, at, end, note, rolls_over)


def rolls_over_problem(zone: str, rolls_over: bool) -> Problem | None:
    """SPEC R11: only a domestic pack may roll over; a roaming grant with ``rolls_over``
    is refused with the value."""
    if rolls_over and zone == ROAMING:
        return Problem("rolls_over", "a roaming grant cannot roll over", zone)
    return None
