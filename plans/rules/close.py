"""Closing a period (SPEC R4) and what a change of plan does to the bank (R9)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from core.periods import Calendar, Period
from plans.rules.buckets import DOMESTIC, ROLLOVER, BucketSpec
from plans.rules.order import draw_order, order_as_list

# --- R4, R8, R11: closing ---------------------------------------------------------------


def rollover_amount(terms, unused: int | None, *, banked: int = 0, forfeit: bool = False) -> int:
    """SPEC R4.1 and R8: what rolls over from ``unused`` bytes (R11: the allowance's
    and the rolling packs' left) under ``terms``: all of it, at most
    ``rollover_cap_bytes`` (a cap of 0 rolls nothing) and at most the bank's room,
    ``max(0, rollover_bank_cap_bytes - banked)``; nothing without rollover, without
    terms, when the allowance is unlimited (``None``) or at a forfeiting close (R9)."""
    if terms is None or not terms.rollover or unused is None or forfeit:
        return 0
    amount = unused
    if (cap := terms.rollover_cap_bytes) is not None:
        amount = min(amount, cap)
    if (bank_cap := getattr(terms, "rollover_bank_cap_bytes", None)) is not None:
        amount = min(amount, max(0, bank_cap - banked))
    return amount


class Leftover(NamedTuple):
    """A bucket whose ``expires_at`` is at or before a period's end, with bytes left.
    A pack that ``rolls_over`` (R11) also says its ``kind`` and ``valid_from``, the
    order in which it gives its bytes to the rollover (``draw_order``)."""

    pk: int
    left: int
    expires_at: datetime
    kind: str = ""
    valid_from: datetime | None = None
    rolls_over: bool = False


class Banked(NamedTuple):
    """A rollover bucket valid at a period's end (SPEC R8, R9): the bytes it holds when
    the close runs (``left``) and what records at or after the period's end drew from
    it (``drawn_after``); together, what it held at the period's end."""

    pk: int
    left: int
    drawn_after: int = 0


class Expiry(NamedTuple):
    """Bytes that expire from one bucket at its ``expires_at`` (its ``at``); a roll-out
    (R4.1, R11) has the same shape: bytes leaving one bucket at P's end."""

    pk: int
    bytes: int
    at: datetime


def close_unused(terms, allowance_left: int | None, packs: Iterable[Leftover]) -> int | None:
    """SPEC R4.1 and R11: the unused bytes of a close: the domestic allowance's left,
    plus, when ``terms`` have rollover on and the allowance is finite, the bytes left in
    the domestic packs that roll over and reach their end by P's end."""
    if allowance_left is None or terms is None or not terms.rollover:
        return allowance_left
    return allowance_left + sum(pack.left for pack in packs)


def roll_outs(
    allowance: tuple[int, int], packs: Iterable[Leftover], *, rolled: int, at: datetime
) -> list[Expiry]:
    """SPEC R11: the ``rolled`` bytes leave the allowance first, then the packs that
    roll over, in the order usage draws on them (``packs`` already in that order)."""
    moves, wanted = [], rolled
    for pk, left in [allowance, *((pack.pk, pack.left) for pack in packs)]:
        take = min(left, wanted)
        if take:
            moves.append(Expiry(pk, take, at))
            wanted -= take
    return moves


def what_expires(ending: Iterable[Leftover], *, rolled_out: Iterable[Expiry] = ()) -> list[Expiry]:
    """SPEC R4.2: everything that reaches its end by P's end and still has bytes left
    expires, in the order given, less what rolled out of it (``rolled_out``). Rolled
    data never rolls again."""
    taken = {move.pk: move.bytes for move in rolled_out}
    expiries = []
    for bucket in ending:
        left = bucket.left - taken.get(bucket.pk, 0)
        if left:
            expiries.append(Expiry(bucket.pk, left, bucket.expires_at))
    return expiries


def forfeit_expiries(bank: Iterable[Banked], at: datetime) -> list[Expiry]:
    """SPEC R9: at a forfeiting close every rollover bucket valid at P's end expires what
    it holds when the close runs, dated at P's end."""
    return [Expiry(bucket.pk, bucket.left, at) for bucket in bank if bucket.left]


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    """What closing one period of one household does (SPEC R4.1–R4.3, R8, R9, R11)."""

    period: str
    unused: int | None  # allowance left at P's end (+ rolling packs, R11); None: unlimited
    rolled: int
    rolled_from: int  # the domestic allowance the rolled bytes leave first
    rolled_at: datetime  # P's end, when they leave it
    rollover: BucketSpec | None  # the rollover bucket to grant, none if nothing rolled
    expiries: tuple[Expiry, ...]
    banked: int = 0  # R8: what the bank held at P's end
    forfeit: bool = False  # R9: the close lost the bank
    forfeited: tuple[int, ...] = ()  # R9: the rollover buckets marked forfeited
    roll_outs: tuple[Expiry, ...] = ()  # R11: the sources of ``rolled``, allowance first

    @property
    def expired(self) -> int:
        return sum(expiry.bytes for expiry in self.expiries)


def rollover_bucket(calendar: Calendar, period: Period, terms, rolled: int) -> BucketSpec | None:
    """SPEC R4.1: the rollover bucket of ``rolled`` bytes, domestic, valid from the start
    of P+1 to the start of P+1+N (N = ``rollover_months``); none if nothing rolls."""
    if not rolled:
        return None
    return BucketSpec(
        ROLLOVER,
        DOMESTIC,
        period.key,
        rolled,
        calendar.end(period),
        calendar.start(period.shift(1 + terms.rollover_months)),
        note=f"Rolled over from {period.key}",
    )


def close_period(
    calendar: Calendar,
    period: Period,
    terms,
    *,
    allowance: Leftover | tuple[int, int | None],
    ending: Iterable[Leftover],
    bank: Iterable[Banked] = (),
    next_terms=None,
) -> CloseOutcome:
    """SPEC R4.1–R4.2, R8, R9, R11: close ``period`` under its ``terms``. ``allowance``
    is the period's domestic allowance as ``(pk, left)`` (left None: unlimited),
    ``ending`` the buckets whose ``expires_at`` is at or before the period's end with
    bytes left (the allowance among them, with its full left, if it has any), ``bank``
    the rollover buckets valid at the period's end (not forfeited) and ``next_terms``
    the terms of P+1.

    ``unused`` is ``close_unused``; ``rolled = rollover_amount`` of it under the bank
    cap (``banked``: what ``bank`` held at P's end), 0 when the change to ``next_terms``
    ``forfeits`` the bank, whose buckets then expire what they hold
    (``forfeit_expiries``) and are marked forfeited. The rolled bytes leave the
    allowance, then the rolling packs in draw order (``roll_outs``), into one rollover
    bucket (``rollover_bucket``); everything else in ``ending`` expires."""
    ending, bank = list(ending), list(bank)
    pk, left = allowance[0], allowance[1]
    end = calendar.end(period)
    packs = []
    if left is not None and terms is not None and terms.rollover:
        rolling = [bucket for bucket in ending if bucket.rolls_over]
        packs = draw_order(rolling, consumption_order=terms.consumption_order, zone=DOMESTIC)
    unused = close_unused(terms, left, packs)
    banked = sum(bucket.left + bucket.drawn_after for bucket in bank)
    forfeit = terms is not None and forfeits(terms, next_terms)
    rolled = rollover_amount(terms, unused, banked=banked, forfeit=forfeit)
    moves = roll_outs((pk, left), packs, rolled=rolled, at=end) if rolled else []
    expiries = what_expires(ending, rolled_out=moves)
    if forfeit:
        expiries += forfeit_expiries(bank, end)
    return CloseOutcome(
        period.key,
        unused,
        rolled,
        pk,
        end,
        rollover_bucket(calendar, period, terms, rolled),
        tuple(expiries),
        banked=banked,
        forfeit=forfeit,
        forfeited=tuple(bucket.pk for bucket in bank) if forfeit else (),
        roll_outs=tuple(moves),
    )


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
