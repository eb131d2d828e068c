"""Billing-period arithmetic (SPEC §1 "Period"), free of Django.

A period is named ``YYYY-MM`` after the month in which it starts. It runs from
local midnight on the household's cycle day (inclusive) to local midnight on the
cycle day of the next month (exclusive). Where that midnight does not exist or
occurs twice, the boundary is the first instant at or after it, which is what
``zoneinfo`` gives for a wall time with ``fold=0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, total_ordering
from zoneinfo import ZoneInfo

# ASCII digits, whole string: "\d" and "$" would let "２０２６-０３" and "2026-03\n" through.
_KEY = re.compile(r"([0-9]{4})-([0-9]{2})")

# The instants Datapool accounts for: period arithmetic needs the periods around an
# instant, so keep far from datetime's limits.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


@total_ordering
@dataclass(frozen=True, slots=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9998:
            raise ValueError(f"not a period: {self.year:04d}-{self.month:02d}")

    @staticmethod
    def parse(key: str) -> Period:
        """Read ``YYYY-MM``; raise ``ValueError`` naming the value otherwise."""
        if not isinstance(key, str):
            raise ValueError(f"must be YYYY-MM ({key!r})")
        return _parse(key)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        """Months since year 0: periods subtract to a number of months."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Period:
        return _period(index // 12, index % 12 + 1)

    def shift(self, months: int) -> Period:
        return Period.from_index(self.index + months)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.index < other.index

    def __str__(self) -> str:
        return self.key


@lru_cache(maxsize=4096)
def _period(year: int, month: int) -> Period:
    """Periods are immutable: the same month is one shared object."""
    return Period(year, month)


@lru_cache(maxsize=4096)
def _parse(key: str) -> Period:
    match = _KEY.fullmatch(key)
    if not match:
        raise ValueError(f"must be YYYY-MM ({key!r})")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ValueError(f"must be YYYY-MM with a month from 01 to 12 ({key!r})")
    if not 1 <= year <= 9998:
        raise ValueError(f"must be YYYY-MM with a year from 0001 to 9998 ({key!r})")
    return _period(year, month)


def period_range(first: Period, last: Period) -> list[Period]:
    """Every period from ``first`` to ``last``, both included, in order."""
    return [Period.from_index(i) for i in range(first.index, last.index + 1)]


@lru_cache(maxsize=8192)
def _start(time_zone: str, cycle_day: int, year: int, month: int) -> datetime:
    local = datetime(year, month, cycle_day, tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC)


# Each calendar's last period found, with its bounds (see ``Calendar.period_of``).
_last_found: dict[Calendar, tuple[datetime, datetime, Period]] = {}


@dataclass(frozen=True, slots=True)
class Calendar:
    """A household's billing calendar: its time zone and cycle day."""

    time_zone: str
    cycle_day: int = 1

    def __post_init__(self) -> None:
        day = self.cycle_day
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 28:
            raise ValueError(f"cycle day must be from 1 to 28 ({self.cycle_day!r})")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def start(self, period: Period) -> datetime:
        """The first instant of ``period``, as an aware UTC datetime."""
        return _start(self.time_zone, self.cycle_day, period.year, period.month)

    def end(self, period: Period) -> datetime:
        """The first instant after ``period`` (exclusive end), in UTC."""
        return self.start(period.next())

    def period_of(self, instant: datetime) -> Period:
        """The period containing the aware datetime ``instant``."""
        if instant.tzinfo is None:
            raise ValueError(f"needs an aware datetime ({instant!r})")
        # Instants come in runs of one period (an import, a month of history): the
        # calendar's last answer is checked first (calendar arithmetic only, no data).
        last = _last_found.get(self)
        if last is not None and last[0] <= instant < last[1]:
            return last[2]
        local = instant.astimezone(self.zone)
        guess = _period(local.year, local.month)
        if local.day < self.cycle_day:
            guess = guess.previous()
        # Near a boundary moved by a DST change the wall-clock guess can be one off.
        if instant < self.start(guess):
            guess = guess.previous()
        elif instant >= self.end(guess):
            guess = guess.next()
        _last_found[self] = (self.start(guess), self.end(guess), guess)
        return guess
