"""When each kind of alert fires: pure functions of the pool's and the caps' figures.

No ORM, no clock, no Django: the evaluation loads the figures, asks these rules and
records what fires. Amounts are integer bytes; ``None`` for an amount granted means
unlimited data, ``None`` for a member's usage means they used nothing this period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.periods import Period


def alerting_periods(
    periods: Iterable[Period], *, opened: Period | None, current: Period
) -> list[Period]:
    """The periods whose pools and caps may alert, in order, once each. A period not
    opened yet has no allowance: its pool cannot be low or empty yet. A period long over
    (an import of past months) is history, not news: only the current period and the one
    before it, while it may still take late data, alert."""
    recent = current.previous()
    return sorted({p for p in periods if opened is not None and recent <= p <= opened})


def pool_low(*, granted: int | None, left: int | None, percent: int) -> bool:
    """``pool_low``: the domestic data left this period is ``percent`` % or less of what
    was granted. Unlimited data never runs low; a pool of nothing can only be empty."""
    return bool(granted) and 100 * left <= percent * granted


def pool_empty(*, granted: int | None, left: int | None, used: bool) -> bool:
    """``pool_empty``: no domestic data is left this period. A pool of nothing granted is
    empty only once somebody used it; unlimited data is never empty."""
    return granted is not None and left == 0 and (granted > 0 or used)


def roaming_low(*, granted: int | None, left: int | None, percent: int, used: bool) -> bool:
    """``roaming_low``: as ``pool_low``, for roaming data, once somebody roamed this
    period (a household that stays at home never hears of roaming)."""
    return used and pool_low(granted=granted, left=left, percent=percent)


def roaming_empty(*, granted: int | None, left: int | None, used: bool) -> bool:
    """``roaming_empty``: no roaming data is left this period and somebody roamed."""
    return used and pool_empty(granted=granted, left=left, used=used)


def cap_near(*, covered: int | None, cap: int | None, percent: int) -> bool:
    """``cap_near`` (R3.3): the pool covered ``percent`` % or more of the member's monthly
    cap this period. No cap, or no usage this period: nothing to warn about."""
    return covered is not None and cap is not None and 100 * covered >= percent * cap


def cap_reached(*, covered: int | None, cap: int | None) -> bool:
    """``cap_reached`` (R3.3): the pool covered all of the member's monthly cap this
    period (a cap of 0 is reached by any usage). No cap, or no usage: nothing."""
    return covered is not None and cap is not None and covered >= cap


def fair_use_near(*, used: int | None, volume: int | None, percent: int) -> bool:
    """``fair_use`` (R10): a member's roaming drew ``percent`` % or more of their
    fair-use volume from the domestic pool this period. No volume (no limit, or roaming
    of its own), or no roaming from the domestic pool: nothing to warn about."""
    return bool(used) and volume is not None and 100 * used >= percent * volume


def rollover_expiring(*, left: int, expires_at: datetime, now: datetime, days: int) -> bool:
    """``rollover_expiring``: rolled-over data with bytes left expires after ``now`` and
    within ``days`` days of it."""
    return left > 0 and now < expires_at <= now + timedelta(days=days)


def rollover_warnings(
    *, left: int, expires_at: datetime, now: datetime, warn_days: Iterable[int]
) -> list[int]:
    """The warnings that hold now for one rolled-over bucket: each of ``warn_days``
    (days before the expiry) once, fewest days first."""
    return [
        days
        for days in sorted(set(warn_days))
        if rollover_expiring(left=left, expires_at=expires_at, now=now, days=days)
    ]


def last_instant(expires_at: datetime) -> datetime:
    """The instant whose period an expiry warning belongs to: the bucket's last one, not
    now's, so an expiry moved past a period's end does not warn again when the new
    period starts."""
    return expires_at - timedelta(microseconds=1)


def period_closed(*, newest: str | None, announced: bool) -> bool:
    """``period_closed``: the household's newest close, once. Catching up on past months
    announces only the last of them."""
    return newest is not None and not announced
