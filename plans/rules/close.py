"""Closing a period (SPEC R4) and what a change of plan does to the bank (R9)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from core.periods import Calendar, Period
from plans.rules.buckets import DOMESTIC, ROLLOVER, BucketSpec
from plans.rules.order import order_as_list

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


# --- R9: rollover lost on a plan change ---------------------------------------------

# The terms that allocation or closing reads (the name and the price are not terms).
COMPARED_TERMS = (
    "monthly_allowance_bytes",
    "roaming_allowance_bytes",
    "rollover",
    "rollover_months",
    "rollover_cap_bytes",
    "rollover_bank_cap_bytes",
    "rollover_on_plan_change",
    "roaming_mode",
    "roaming_fair_use_bytes",
    "when_pool_is_empty",
)


def plan_changed(before, after) -> bool:
    """SPEC R9: whether the terms ``after`` (P+1's) differ from ``before`` (P's): another
    plan, or any term that allocation or closing reads, the order compared as a list."""
    if getattr(before, "plan_id", None) != getattr(after, "plan_id", None):
        return True
    if order_as_list(before.consumption_order) != order_as_list(after.consumption_order):
        return True
    return any(getattr(before, name) != getattr(after, name) for name in COMPARED_TERMS)


def smaller_allowance(before: int | None, after: int | None) -> bool:
    """SPEC R9: a downgrade is a smaller monthly allowance; unlimited (None) is the
    largest."""
    if after is None:
        return False
    return before is None or after < before


def forfeits(before, after) -> bool:
    """SPEC R9: whether the close of P, under P's terms ``before``, loses the rolled-over
    data because P+1's terms are ``after``: with ``forfeit`` on any change of plan,
    with ``forfeit_on_downgrade`` when the monthly allowance gets smaller."""
    if after is None:
        return False
    rule = before.rollover_on_plan_change
    if rule == "forfeit":
        return plan_changed(before, after)
    if rule == "forfeit_on_downgrade":
        return smaller_allowance(before.monthly_allowance_bytes, after.monthly_allowance_bytes)
    return False
