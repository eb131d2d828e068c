"""What the selectors return: a member's, a period's and the household's figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from accounts.models import Household, Member
from core.periods import Period
from plans import selectors as plan_selectors
from plans.models import Bucket, Terms, Zone


@dataclass
class MemberFigures:
    member: Member
    used_bytes: int
    covered_bytes: int
    overage_bytes: int
    # SPEC R10, R12: domestic bytes this member's roaming drew, and of the overage what
    # the member's block cap refused and what lay beyond the fair-use volume.
    from_domestic_bytes: int = 0
    capped_bytes: int = 0
    beyond_fair_use_bytes: int = 0

    @property
    def cap_bytes(self) -> int | None:
        return self.member.monthly_cap_bytes

    @property
    def over_cap(self) -> bool:
        cap = self.cap_bytes
        return cap is not None and self.used_bytes > cap

    @property
    def cap_percent(self) -> int | None:
        """Used bytes as a share of the cap, for the bar (capped at 100)."""
        if not self.cap_bytes:
            return None
        return min(100, round(100 * self.used_bytes / self.cap_bytes))


@dataclass
class PeriodFigures:
    period: str
    used_bytes: int = 0
    covered_bytes: int = 0
    overage_bytes: int = 0
    rolled_bytes: int = 0
    expired_bytes: int = 0
    pending_rollover_bytes: int = 0
    closes_after: datetime | None = None
    # SPEC R12: why the overage was not covered, and the period's word for the rest.
    capped_bytes: int = 0
    beyond_fair_use_bytes: int = 0
    when_pool_is_empty: str | None = None


def period_figures(usage: dict[str, dict], key: str, *, terms=(), **extra) -> PeriodFigures:
    """``key``'s figures from per-period usage sums (``used``, ``covered``, ``overage``,
    ``capped``, ``beyond_fair_use``), and the period's ``when_pool_is_empty`` from the
    household's ``terms`` rows (oldest first)."""
    row = usage.get(key, {})
    in_force = plan_selectors.terms_in_force(list(terms), Period.parse(key)) if terms else None
    return PeriodFigures(
        key,
        used_bytes=row.get("used") or 0,
        covered_bytes=row.get("covered") or 0,
        overage_bytes=row.get("overage") or 0,
        capped_bytes=row.get("capped") or 0,
        beyond_fair_use_bytes=row.get("beyond_fair_use") or 0,
        when_pool_is_empty=in_force.when_pool_is_empty if in_force else None,
        **extra,
    )


@dataclass
class Snapshot:
    """The household at ``now``: the current period's pool, members, the periods
    awaiting their close and the closed ones (newest first)."""

    household: Household
    now: datetime
    period: Period
    start: datetime
    end: datetime
    buckets: list[Bucket]
    members: list[MemberFigures]
    awaiting: list[PeriodFigures]
    history: list[PeriodFigures]
    newest_usage_at: datetime | None
    used_by_zone: dict[str, int]
    # The terms in force for this period and for the next one (R1: a change already
    # recorded applies from the next period).
    terms: Terms | None = None
    next_terms: Terms | None = None
    remaining: dict[str, int | None] = field(init=False)

    def __post_init__(self) -> None:
        self.remaining = {}
        for zone in Zone.values:
            lefts = [b.left_bytes for b in self.buckets if b.zone == zone]
            self.remaining[zone] = None if None in lefts else sum(lefts)

    @property
    def last_instant(self) -> datetime:
        """The period's last moment, for showing its last day (``end`` is exclusive)."""
        return self.end - timedelta(microseconds=1)

    @property
    def rollover_buckets(self) -> list[Bucket]:
        """Valid rollover buckets, the one expiring soonest first."""
        found = [b for b in self.buckets if b.kind == Bucket.Kind.ROLLOVER]
        return sorted(found, key=lambda b: (b.expires_at, b.pk))

    @property
    def rollover_remaining_bytes(self) -> int:
        return sum(b.left_bytes for b in self.rollover_buckets)

    @property
    def packs(self) -> list[Bucket]:
        """Add-ons and bonuses valid now, the one expiring soonest first."""
        kinds = (Bucket.Kind.ADDON, Bucket.Kind.BONUS)
        return sorted(
            (b for b in self.buckets if b.kind in kinds), key=lambda b: (b.expires_at, b.pk)
        )

    @property
    def used_bytes(self) -> int:
        return sum(m.used_bytes for m in self.members)

    @property
    def overage_bytes(self) -> int:
        return sum(m.overage_bytes for m in self.members)
