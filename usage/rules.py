"""The rules of usage (SPEC R3, R5), each a pure function of plain values.

No Django, no database, no clock: the services load what a rule needs, call it and
write what it decides; a replay or a simulator can call the same rules without them.
A bucket here is anything with ``zone``, ``valid_from``, ``expires_at``, ``left_bytes``
(``None``: unlimited) and ``allocated_bytes``; a record anything with ``member_id``,
``started_at``, ``bytes`` and ``zone``.

The R5 predicates return a ``Problem`` (or ``None`` when the value is fine). The limits
of the product (the largest number of bytes, the zones) are passed in, so that each
exists once, where the models define it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from core.periods import EARLIEST, LATEST, Period
from core.problems import Problem, choice_problem
from core.problems import bytes_problem as amount_problem
from plans.rules import before_start_problem, closed_period_problem

FUTURE_TOLERANCE = timedelta(minutes=5)
REF_LENGTH = 200  # characters, at most


# --- R3 allocation -----------------------------------------------------------------


def valid_at(bucket, at: datetime) -> bool:
    """SPEC R3.1: a bucket counts from ``valid_from`` (inclusive) to ``expires_at``
    (exclusive)."""
    return bucket.valid_from <= at < bucket.expires_at


def valid_for(bucket, *, zone: str, at: datetime) -> bool:
    """SPEC R3.1 (and R6): a bucket of ``zone`` valid at ``at``."""
    return bucket.zone == zone and valid_at(bucket, at)


def eligible(bucket, *, zone: str, at: datetime) -> bool:
    """SPEC R3.1: usage of ``zone`` at ``at`` may draw on a bucket of its zone, valid at
    that instant, with bytes left (an unlimited bucket always has some), and not
    forfeited (R9: never eligible again)."""
    left = bucket.left_bytes
    return (
        not bucket.forfeited and valid_for(bucket, zone=zone, at=at) and (left is None or left > 0)
    )


def cap_room(cap_bytes: int | None, cap_action: str, covered: int) -> int | None:
    """SPEC R3.3: how much more the pool may cover for a member who already had
    ``covered`` bytes covered in the period (all zones, all kinds of bucket): at most
    ``max(0, cap - covered)`` with a ``block`` cap; ``None`` (no limit) otherwise."""
    if cap_action != "block" or cap_bytes is None:
        return None
    return max(0, cap_bytes - covered)


def fair_use_room(volume: int | None, used: int) -> int | None:
    """SPEC R10: how much more of the domestic pool one member's roaming may draw in the
    period, having drawn ``used``: ``max(0, volume - used)``; ``None`` (no limit) when
    the plan sets no fair-use volume."""
    return None if volume is None else max(0, volume - used)


def capped_bytes(bytes: int, room: int | None) -> int:
    """SPEC R12: the bytes of a record that a ``block`` cap refused (``room``: the cap's
    room, R3.3; ``None``: no blocking cap)."""
    return 0 if room is None or room >= bytes else bytes - room


class Draw(NamedTuple):
    bucket: object
    bytes: int


def draw(buckets: list, bytes: int, *, at: datetime | None = None, limit: int | None = None):
    """SPEC R3.4: take ``bytes`` greedily from ``buckets`` (of the record's zone, already
    in the order of R3.2), skipping those not valid at ``at`` (when given) or empty, and
    covering at most ``limit`` bytes (a blocking cap's room, R3.3). What no bucket covers
    is overage; no balance goes below zero; an unlimited bucket covers any amount.

    Returns ``(draws, overage)`` and updates the buckets' ``left_bytes`` and
    ``allocated_bytes`` in memory, so the next record sees what is left."""
    wanted = bytes if limit is None or limit > bytes else limit
    covered = wanted
    draws = []
    for bucket in buckets:
        if not wanted:
            break
        if at is not None and not valid_at(bucket, at):
            continue
        left = bucket.left_bytes
        if left is None:
            take = wanted
        elif left:
            take = wanted if wanted < left else left
            bucket.left_bytes = left - take
        else:
            continue
        bucket.allocated_bytes += take
        draws.append(Draw(bucket, take))
        wanted -= take
    return draws, bytes - covered + wanted


class RoamingDraw(NamedTuple):
    draws: list[Draw]
    overage: int
    from_domestic: int  # bytes drawn from the domestic buckets
    beyond_fair_use: int  # overage the fair-use room kept from the domestic pool


def draw_from_domestic(
    roaming: list, domestic: list, bytes: int, *, at: datetime, limit=None, fair_use=None
) -> RoamingDraw:
    """SPEC R10 (``from_domestic``): a roaming record draws on the ``roaming`` buckets,
    then on the ``domestic`` ones (each list in its order, R7), covering at most
    ``limit`` in all (a blocking cap's room, R3.3, every zone) and at most ``fair_use``
    from the domestic buckets (the member's fair-use room, ``fair_use_room``; ``None``:
    no limit). The cap applies first, then fair use (R12's figures)."""
    wanted = bytes if limit is None or limit > bytes else limit
    draws, rest = draw(roaming, wanted, at=at)
    allowed = rest if fair_use is None or fair_use > rest else fair_use
    more, empty = draw(domestic, allowed, at=at)
    draws.extend(more)
    beyond = rest - allowed
    return RoamingDraw(draws, bytes - wanted + beyond + empty, allowed - empty, beyond)


# --- §1 the identity of a record ---------------------------------------------------


def same_content(one, other) -> bool:
    """SPEC §1: same member, same instant (whatever the offset), bytes and zone."""
    return (
        one.member_id == other.member_id
        and one.started_at == other.started_at
        and one.bytes == other.bytes
        and one.zone == other.zone
    )


def derive_ref(*, username: str, started_at: datetime, bytes: int, zone: str) -> str:
    """A stable ``ref`` for a record that came without one: the same content (SPEC §1)
    always gives the same ref, so a replayed entry is recognised."""
    instant = started_at.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{username}|{instant}|{bytes}|{zone}".encode()).hexdigest()
    return f"auto-{digest[:32]}"


# --- R5 validation -----------------------------------------------------------------


def replay_problem(recorded, usage, *, line: int | None = None) -> Problem | None:
    """SPEC R5, first: a ``ref`` already recorded (or, in a file, used on an earlier
    ``line``) with the same content is a replay, not a problem; with other content it
    is refused."""
    if same_content(recorded, usage):
        return None
    if line is None:
        return Problem("ref", "was already recorded with different content", usage.ref)
    return Problem("ref", f"is used on line {line} with different content", usage.ref)


def digits_problem(amount: int | None, written: str) -> Problem | None:
    """SPEC §3: bytes in a file are plain digits (``amount`` is None when they were not)."""
    if amount is None:
        return Problem("bytes", "must be plain digits", written)
    return None


def bytes_problem(amount: int, most: int, shown: object) -> Problem | None:
    """SPEC R5: a record of bytes <= 0 or > 10^13 (``most``) is refused."""
    if 1 <= amount <= most:
        return None
    return Problem("bytes", "must be from 1 to 10^13 bytes", shown)


def ref_problem(ref: object) -> Problem | None:
    """SPEC R5: a ``ref`` given to a form or the API is text of 1 to 200 characters
    (``None``: none given, one is derived)."""
    if ref is None or (isinstance(ref, str) and 1 <= len(ref) <= REF_LENGTH):
        return None
    return Problem("ref", "must be text of 1 to 200 characters", ref)


def written_ref_problem(ref: str) -> Problem | None:
    """SPEC §3: a ``ref`` in a file is at most 200 characters (empty: one is derived)."""
    if len(ref) <= REF_LENGTH:
        return None
    return Problem("ref", "must be at most 200 characters", ref[:40] + "…")


def instant_problem(at: datetime | None, written: str) -> Problem | None:
    """SPEC §3: ``started_at`` in a file is ISO 8601 (``at`` is None when it was not),
    with a UTC offset, from the year 1900 to 8999."""
    if at is None:
        return Problem("started_at", "must be an ISO 8601 date and time", written)
    if at.utcoffset() is None:
        return Problem("started_at", "must include a UTC offset", written)
    if not EARLIEST <= at < LATEST:
        return Problem("started_at", "must be from the year 1900 to 8999", written)
    return None


def membership_problem(slug: str, username: str, household: bool, member: bool):
    """SPEC R5 (§3): a file's row names a known ``household`` and a ``member`` of it."""
    if not household:
        return Problem("household", "no such household", slug)
    if not member:
        return Problem("username", f"is not a member of household {slug}", username)
    return None


def member_problem(member, household_id: int, slug: str) -> Problem | None:
    """SPEC R5: the member is active and in the record's household."""
    if member.household_id != household_id:
        return Problem("member", f"is not in household {slug}", member.username)
    if not member.active:
        return Problem("member", "is not active", member.username)
    return None


def future_problem(at: datetime, now: datetime) -> Problem | None:
    """SPEC R5: a record more than 5 minutes in the future is refused."""
    if at > now + FUTURE_TOLERANCE:
        return Problem("started_at", "is more than 5 minutes in the future", at.isoformat())
    return None


def record_problem(
    usage, *, household_id: int, slug: str, start: Period, last_closed: Period | None, now
) -> Problem | None:
    """SPEC R5, a record against its household's state (after the ``ref`` check): the
    member is active and in the household, the record is at most 5 minutes in the
    future, not before the start period and not in a closed period (``usage.period``
    is the period of its instant)."""
    at, period = usage.started_at, usage.period
    return (
        member_problem(usage.member, household_id, slug)
        or future_problem(at, now)
        or before_start_problem(period, start, "started_at", at)
        or closed_period_problem(period, last_closed, "started_at", at)
    )


def input_problem(*, bytes: object, zone: object, ref: object, most: int, zones: Collection[str]):
    """SPEC R5, what a form or the API gives, before any database: the first problem."""
    return (
        amount_problem("bytes", bytes, minimum=1, maximum=most)
        or choice_problem("zone", zone, zones)
        or ref_problem(ref)
    )


def read_instant(written: str) -> datetime | None:
    """SPEC §3: the ISO 8601 date and time written in a file, or None."""
    try:
        return datetime.fromisoformat(written)
    except ValueError:
        return None


def read_amount(digits: str, most: int) -> int | None:
    """SPEC §3: the number written in plain ASCII digits, or None. A number too long for
    any plan counts as one byte over the largest (``int`` refuses thousands of digits)."""
    if not (digits.isascii() and digits.isdigit()):
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 14 else most + 1


def written_problems(
    row, *, household: bool, member: bool, at, amount, most: int, zones: Collection[str]
) -> list[Problem]:
    """SPEC R5 and §3, what a ``row`` of a file says (its ``household``, ``username``,
    ``started_at``, ``bytes``, ``zone`` and ``ref`` as written; ``at`` and ``amount`` as
    read), before its household's state: every problem (an import lists them all)."""
    problems = [
        membership_problem(row.household, row.username, household, member),
        instant_problem(at, row.started_at),
        digits_problem(amount, row.bytes) or bytes_problem(amount, most, row.bytes[:40]),
        choice_problem("zone", row.zone, zones),
        written_ref_problem(row.ref),
    ]
    return [problem for problem in problems if problem is not None]
