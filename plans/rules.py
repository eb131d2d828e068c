"""The plans rules of the SPEC, each a pure function of plain values for one household.

No Django, no database, no clock: the services load what a rule needs, call it and
write what it returns, and a plan simulator or a replay can call the same rules.
Terms are anything with the plan's term fields (a ``Terms`` row or a plain object);
buckets are anything with ``pk``, ``kind``, ``expires_at`` and ``valid_from``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar

from core.periods import EARLIEST, LATEST, Calendar, Period
from core.problems import Problem

ALLOWANCE, ROLLOVER, BONUS, ADDON = "allowance", "rollover", "bonus", "addon"
DOMESTIC, ROAMING = "domestic", "roaming"

# SPEC R3.2 (and R7 to come): a consumption order names the four kinds in draw order.
KIND_ORDER: dict[str, list[str]] = {
    "rollover_first": [ROLLOVER, ALLOWANCE, BONUS, ADDON],
    "rollover_last": [ALLOWANCE, BONUS, ADDON, ROLLOVER],
}

B = TypeVar("B")


class BucketSpec(NamedTuple):
    """A bucket to create: what a rule decides, before it is a row."""

    kind: str
    zone: str
    period: str
    granted_bytes: int | None  # None: unlimited
    valid_from: datetime
    expires_at: datetime
    note: str = ""


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
) -> BucketSpec:
    """SPEC R2: an add-on or bonus of ``bytes``, valid from ``at`` (the grant time) until
    ``expires_at`` or, by default, the end of the period containing ``at``. It belongs
    to that period and changes no other bucket."""
    period = calendar.period_of(at)
    end = calendar.end(period) if expires_at is None else expires_at
    return BucketSpec(kind, zone, period.key, bytes, at, end, note)


# --- R3.2: the draw order ---------------------------------------------------------------


def kind_order(consumption_order: str | Sequence[str], zone: str) -> list[str]:
    """SPEC R3.2: the kinds in the order usage of ``zone`` draws on them. Domestic data
    follows the consumption order; roaming follows it with rollover left out (roaming
    data never rolls over, so in effect: the allowance, then bonuses, then add-ons)."""
    if isinstance(consumption_order, str):
        kinds = KIND_ORDER[str(consumption_order)]
    else:
        kinds = list(consumption_order)
    if zone == ROAMING:
        return [kind for kind in kinds if kind != ROLLOVER]
    return kinds


def draw_order(
    buckets: Iterable[B], *, consumption_order: str | Sequence[str], zone: str
) -> list[B]:
    """SPEC R3.2: ``buckets`` in the order usage draws on them, a total order: by kind
    (``kind_order``), then soonest ``expires_at``, then earlier ``valid_from``, then
    ``pk`` (the older grant). A kind the order leaves out comes last."""
    kinds = kind_order(consumption_order, zone)
    rank = {kind: index for index, kind in enumerate(kinds)}
    last = len(kinds)
    return sorted(buckets, key=lambda b: (rank.get(b.kind, last), b.expires_at, b.valid_from, b.pk))


# --- R4: closing ------------------------------------------------------------------------


def rollover_amount(terms, unused: int | None) -> int:
    """SPEC R4.1: what rolls over from a domestic allowance with ``unused`` bytes left
    under ``terms``: all of it, or at most ``rollover_cap_bytes`` (a cap of 0 rolls
    nothing); nothing without rollover, without terms, or when the allowance is
    unlimited (``None``)."""
    if terms is None or not terms.rollover or unused is None:
        return 0
    cap = terms.rollover_cap_bytes
    return unused if cap is None else min(unused, cap)


class Leftover(NamedTuple):
    """A bucket whose ``expires_at`` is at or before a period's end, with bytes left."""

    pk: int
    left: int
    expires_at: datetime


class Expiry(NamedTuple):
    """Bytes that expire from one bucket at its ``expires_at`` (its ``at``)."""

    pk: int
    bytes: int
    at: datetime


def what_expires(ending: Iterable[Leftover], *, rolled_from: int, rolled: int) -> list[Expiry]:
    """SPEC R4.2: everything that reaches its end by P's end and still has bytes left
    expires, in the order given; the allowance ``rolled_from`` expires its remainder
    beyond the ``rolled`` bytes that rolled over. Rolled data never rolls again."""
    expiries = []
    for bucket in ending:
        left = bucket.left - rolled if bucket.pk == rolled_from else bucket.left
        if left:
            expiries.append(Expiry(bucket.pk, left, bucket.expires_at))
    return expiries


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    """What closing one period of one household does (SPEC R4.1–R4.3)."""

    period: str
    unused: int | None  # the domestic allowance's bytes left at P's end; None: unlimited
    rolled: int
    rolled_from: int  # the domestic allowance the rolled bytes leave
    rolled_at: datetime  # P's end, when they leave it
    rollover: BucketSpec | None  # the rollover bucket to grant, none if nothing rolled
    expiries: tuple[Expiry, ...]

    @property
    def expired(self) -> int:
        return sum(expiry.bytes for expiry in self.expiries)


def close_period(
    calendar: Calendar,
    period: Period,
    terms,
    *,
    allowance: Leftover | tuple[int, int | None],
    ending: Iterable[Leftover],
) -> CloseOutcome:
    """SPEC R4.1–R4.2: close ``period`` under its ``terms``. ``allowance`` is the
    period's domestic allowance as ``(pk, left)`` (left None: unlimited) and ``ending``
    the buckets whose ``expires_at`` is at or before the period's end with bytes left
    (the allowance among them, with its full left, if it has any).

    ``rolled = rollover_amount(terms, unused)`` moves into a rollover bucket, domestic,
    valid from the start of P+1 to the start of P+1+N (N = ``rollover_months``), none if
    nothing rolls; everything else in ``ending`` expires (``what_expires``)."""
    pk, unused = allowance[0], allowance[1]
    rolled = rollover_amount(terms, unused)
    end = calendar.end(period)
    rollover = None
    if rolled:
        rollover = BucketSpec(
            ROLLOVER,
            DOMESTIC,
            period.key,
            rolled,
            end,
            calendar.start(period.shift(1 + terms.rollover_months)),
            note=f"Rolled over from {period.key}",
        )
    expiries = what_expires(ending, rolled_from=pk, rolled=rolled)
    return CloseOutcome(period.key, unused, rolled, pk, end, rollover, tuple(expiries))


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
