"""A pure-Python reference model of SPEC R1–R5 for one household.

The property test (tests/integration/test_invariants.py) runs the same operations on
this model and on the services, and asserts both agree record by record and bucket by
bucket. It is written to be obviously right rather than fast: plain lists and loops, no
database, and nothing imported from the application (its period arithmetic too is
written out again here).

Periods are month indexes (``year * 12 + month - 1``); instants are aware datetimes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MAX_BYTES = 10**13
FUTURE_TOLERANCE = timedelta(minutes=5)

# SPEC R3.2: the draw order of bucket kinds.
KIND_ORDER = {
    ("domestic", "rollover_first"): ["rollover", "allowance", "bonus", "addon"],
    ("domestic", "rollover_last"): ["allowance", "bonus", "addon", "rollover"],
    ("roaming", "rollover_first"): ["allowance", "bonus", "addon"],
    ("roaming", "rollover_last"): ["allowance", "bonus", "addon"],
}


NAMED_ORDERS = {
    "rollover_first": ["rollover", "allowance", "bonus", "addon"],
    "rollover_last": ["allowance", "bonus", "addon", "rollover"],
}


def kinds_in_order(zone: str, order) -> list[str]:
    """SPEC R7: the kinds a record of ``zone`` draws on, in order: a named order or a
    list of the four kinds; roaming leaves rollover out."""
    kinds = list(NAMED_ORDERS[order]) if isinstance(order, str) else list(order)
    return [k for k in kinds if k != "rollover"] if zone == "roaming" else kinds


def period_index(key: str) -> int:
    year, month = key.split("-")
    return int(year) * 12 + int(month) - 1


def period_key(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class Refusal(Exception):
    """The model refuses the operation; ``fields`` are the fields it may be blamed on."""

    def __init__(self, fields: set[str]) -> None:
        super().__init__(", ".join(sorted(fields)))
        self.fields = fields


@dataclass(frozen=True)
class Terms:
    allowance: int | None  # None: unlimited domestic data
    roaming: int
    rollover: bool
    rollover_months: int
    rollover_cap: int | None
    order: str | tuple  # "rollover_first", "rollover_last" or the four kinds (R7)
    bank_cap: int | None = None  # R8: rollover_bank_cap_bytes
    on_change: str = "keep"  # R9: rollover_on_plan_change
    # SPEC R10 and R12 (allocation): where roaming draws, each member's fair-use volume.
    roaming_mode: str = "separate"
    fair_use: int | None = None
    when_empty: str = "overage"


@dataclass
class MemberModel:
    username: str
    cap: int | None
    cap_action: str  # "notify" or "block"
    active: bool


@dataclass
class BucketModel:
    seq: int  # creation order, the last tie-break of R3.2
    kind: str
    zone: str
    period: str
    granted: int | None  # None: unlimited
    valid_from: datetime
    expires_at: datetime
    left: int | None = None
    allocated: int = 0
    rolled_out: int = 0
    expired: int = 0
    rolls_over: bool = False  # R11
    forfeited: bool = False  # R9

    def __post_init__(self) -> None:
        self.left = self.granted

    def valid_at(self, instant: datetime) -> bool:
        return self.valid_from <= instant < self.expires_at

    def state(self) -> tuple:
        """What the database row must equal (everything but the creation order)."""
        return (
            self.kind,
            self.zone,
            self.period,
            self.granted,
            self.allocated,
            self.rolled_out,
            self.expired,
            self.left,
            self.valid_from,
            self.expires_at,
            self.rolls_over,
            self.forfeited,
        )


@dataclass
class RecordModel:
    ref: str
    member: str
    at: datetime
    bytes: int
    zone: str
    period: str
    covered: int
    overage: int
    drawn: list[tuple[BucketModel, int]] = field(default_factory=list)
    from_domestic: int = 0  # R10: covered by domestic buckets (a roaming record)
    capped: int = 0  # R12: refused by a block cap
    beyond_fair_use: int = 0  # R12: beyond the member's fair-use volume


@dataclass(frozen=True)
class CloseModel:
    period: str
    unused: int | None
    rolled: int
    expired: int
    closed_at: datetime
    banked: int = 0  # R8
    forfeited: bool = False  # R9


class HouseholdModel:
    def __init__(
        self,
        *,
        time_zone: str,
        cycle_day: int,
        start_period: str,
        terms: Terms,
        members: list[MemberModel],
        grace: timedelta,
    ) -> None:
        self.zone = ZoneInfo(time_zone)
        self.cycle_day = cycle_day
        self.first = period_index(start_period)
        self.terms = terms
        # R9 needs the terms of each period: (first period, plan number, terms), oldest
        # first; a plan change applies from the next period (see ``change_plan``).
        self.terms_from: list[tuple[int, int, Terms]] = [(self.first, 0, terms)]
        self.members = {m.username: m for m in members}
        self.grace = grace
        self.buckets: list[BucketModel] = []
        self.records: dict[str, RecordModel] = {}
        self.closes: list[CloseModel] = []
        self.opened_through: int | None = None

    # --- calendar ----------------------------------------------------------------------

    def start(self, period: int) -> datetime:
        """Local midnight on the cycle day of the period's month, as UTC."""
        local = datetime(period // 12, period % 12 + 1, self.cycle_day, tzinfo=self.zone)
        return local.astimezone(UTC)

    def end(self, period: int) -> datetime:
        return self.start(period + 1)

    def period_of(self, instant: datetime) -> int:
        local = instant.astimezone(self.zone)
        guess = local.year * 12 + local.month - 1
        for period in (guess - 1, guess, guess + 1):
            if self.start(period) <= instant < self.end(period):
                return period
        raise AssertionError(f"no period contains {instant}")

    # --- R1 ----------------------------------------------------------------------------

    def _add_bucket(self, **fields) -> BucketModel:
        bucket = BucketModel(seq=len(self.buckets), **fields)
        self.buckets.append(bucket)
        return bucket

    def open_through(self, period: int) -> None:
        start = self.first if self.opened_through is None else self.opened_through + 1
        for p in range(start, period + 1):
            common = {
                "kind": "allowance",
                "period": period_key(p),
                "valid_from": self.start(p),
                "expires_at": self.end(p),
            }
            terms = self.terms_of(p)
            self._add_bucket(zone="domestic", granted=terms.allowance, **common)
            if terms.roaming > 0:
                self._add_bucket(zone="roaming", granted=terms.roaming, **common)
            self.opened_through = p

    # --- R4 ----------------------------------------------------------------------------

    @property
    def last_closed(self) -> int | None:
        return period_index(self.closes[-1].period) if self.closes else None

    def is_closed(self, period: int) -> bool:
        return self.last_closed is not None and period <= self.last_closed

    def close(self, period: int, now: datetime) -> CloseModel:
        """R4 with R8 (bank cap), R9 (forfeit at a change of plan), R11 (packs that roll
        over), written out again from the SPEC."""
        end = self.end(period)
        self.open_through(period + 1)
        plan, terms = self.plan_of(period)
        next_plan, next_terms = self.plan_of(period + 1)
        (allowance,) = [
            b
            for b in self.buckets
            if b.kind == "allowance" and b.zone == "domestic" and b.period == period_key(period)
        ]
        sources, unused = [allowance], allowance.left
        if terms.rollover and unused is not None:
            kinds = kinds_in_order("domestic", terms.order)
            packs = [
                b
                for b in self.buckets
                if b.rolls_over and b.expires_at <= end and b.left and b.zone == "domestic"
            ]
            packs.sort(key=lambda b: (kinds.index(b.kind), b.expires_at, b.valid_from, b.seq))
            sources += packs
            unused += sum(b.left for b in packs)
        bank = [
            b
            for b in self.buckets
            if b.kind == "rollover" and not b.forfeited and b.valid_from <= end < b.expires_at
        ]
        banked = sum(b.left for b in bank) + sum(
            take for r in self.records.values() if r.at >= end for b, take in r.drawn if b in bank
        )
        if terms.on_change == "forfeit":
            forfeit = next_plan != plan
        elif terms.on_change == "forfeit_on_downgrade":
            after, before = next_terms.allowance, terms.allowance
            forfeit = after is not None and (before is None or after < before)
        else:
            forfeit = False
        rolled = 0
        if terms.rollover and unused is not None and not forfeit:
            rolled = unused
            if terms.rollover_cap is not None:
                rolled = min(rolled, terms.rollover_cap)
            if terms.bank_cap is not None:
                rolled = min(rolled, max(0, terms.bank_cap - banked))
        wanted = rolled
        for source in sources if rolled else []:
            take = min(source.left, wanted)
            source.left -= take
            source.rolled_out += take
            wanted -= take
        if rolled:
            self._add_bucket(
                kind="rollover",
                zone="domestic",
                period=period_key(period),
                granted=rolled,
                valid_from=end,
                expires_at=self.start(period + 1 + terms.rollover_months),
            )
        expired = 0
        for b in bank if forfeit else []:
            expired += b.left
            b.expired += b.left
            b.left = 0
            b.forfeited = True
        for b in self.buckets:
            if b.expires_at <= end and b.left is not None and b.left > 0:
                expired += b.left
                b.expired += b.left
                b.left = 0
        close = CloseModel(period_key(period), unused, rolled, expired, now, banked, forfeit)
        self.closes.append(close)
        return close

    def pending_rollover(self, now: datetime) -> dict[str, int]:
        """R4.7: what each awaiting close would roll if it ran now, in order."""
        ghost = copy.deepcopy(self)
        return {key: ghost.close(period_index(key), now).rolled for key in self.awaiting_close(now)}

    # --- terms in force (R9) -------------------------------------------------------------

    def plan_of(self, period: int) -> tuple[int, Terms]:
        """The plan number and the terms in force for ``period``."""
        found = self.terms_from[0]
        for entry in self.terms_from:
            if entry[0] <= period:
                found = entry
        return found[1], found[2]

    def terms_of(self, period: int) -> Terms:
        return self.plan_of(period)[1]

    def change_plan(self, terms: Terms, now: datetime) -> None:
        """Another plan, in force from the next period (the one after the period
        containing ``now``), never one already opened; from the start period while the
        household has no activity."""
        if self.opened_through is None and not self.closes:
            first = self.first
        else:
            first = self.period_of(now) + 1
            if self.opened_through is not None:
                first = max(first, self.opened_through + 1)
            first = max(first, self.first)
        plan = max(entry[1] for entry in self.terms_from) + 1
        kept = [entry for entry in self.terms_from if entry[0] != first]
        self.terms_from = sorted([*kept, (first, plan, terms)], key=lambda entry: entry[0])

    def close_due(self, now: datetime, *, before: int | None = None) -> list[CloseModel]:
        """Close, in order, every period whose grace has passed (and before ``before``)."""
        closes = []
        period = self.first if self.last_closed is None else self.last_closed + 1
        while self.end(period) + self.grace <= now and (before is None or period < before):
            closes.append(self.close(period, now))
            period += 1
        return closes

    def close_periods(self, now: datetime) -> list[CloseModel]:
        closes = self.close_due(now)
        self.open_through(self.period_of(now))
        return closes

    # --- R3, R5 ------------------------------------------------------------------------

    def _refuse_instant(self, field_name: str, at: datetime, now: datetime | None) -> None:
        reasons = set()
        if now is not None and at > now + FUTURE_TOLERANCE:
            reasons.add(field_name)
        period = self.period_of(at)
        if period < self.first or self.is_closed(period):
            reasons.add(field_name)
        if reasons:
            raise Refusal(reasons)

    def covered_in_period(self, username: str, period: int) -> int:
        return sum(
            r.covered
            for r in self.records.values()
            if r.member == username and r.period == period_key(period)
        )

    def record_usage(
        self, username: str, *, bytes: int, zone: str, at: datetime, ref: str, now: datetime
    ) -> RecordModel | None:
        """The new record, None for a replay of identical content, or ``Refusal``."""
        if not 1 <= bytes <= MAX_BYTES:
            raise Refusal({"bytes"})
        if ref in self.records:
            old = self.records[ref]
            if (old.member, old.at, old.bytes, old.zone) == (username, at, bytes, zone):
                return None
            raise Refusal({"ref"})
        member = self.members[username]
        reasons = set() if member.active else {"member"}
        try:
            self._refuse_instant("started_at", at, now)
        except Refusal as refusal:
            reasons |= refusal.fields
        if reasons:
            raise Refusal(reasons)

        period = self.period_of(at)
        self.close_due(now, before=period)
        self.open_through(period)
        wanted = bytes
        if member.cap_action == "block" and member.cap is not None:
            wanted = min(bytes, max(0, member.cap - self.covered_in_period(username, period)))
        capped = bytes - wanted
        drawn = self._draw(zone, at, wanted)
        rest = wanted - sum(take for _, take in drawn)
        from_domestic = beyond = 0
        terms = self.terms_of(period)
        if zone == "roaming" and terms.roaming_mode == "from_domestic":
            allowed = rest
            if terms.fair_use is not None:
                used = sum(
                    r.from_domestic
                    for r in self.records.values()
                    if r.member == username and r.period == period_key(period)
                )
                allowed = min(rest, max(0, terms.fair_use - used))
            beyond = rest - allowed
            domestic = self._draw("domestic", at, allowed)
            from_domestic = sum(take for _, take in domestic)
            drawn += domestic
        covered = sum(take for _, take in drawn)
        record = RecordModel(
            ref, username, at, bytes, zone, period_key(period), covered, bytes - covered, drawn
        )
        record.from_domestic, record.capped, record.beyond_fair_use = from_domestic, capped, beyond
        self.records[ref] = record
        return record

    def _draw(self, zone: str, at: datetime, wanted: int) -> list[tuple[BucketModel, int]]:
        """SPEC R3.4 with R7's order: take ``wanted`` greedily from the eligible buckets
        of ``zone`` (never forfeited ones, R9)."""
        kinds = kinds_in_order(zone, self.terms_of(self.period_of(at)).order)
        eligible = [
            b
            for b in self.buckets
            if b.zone == zone
            and b.valid_at(at)
            and (b.left is None or b.left > 0)
            and not getattr(b, "forfeited", False)
        ]
        eligible.sort(key=lambda b: (kinds.index(b.kind), b.expires_at, b.valid_from, b.seq))
        drawn = []
        for b in eligible:
            take = wanted if b.left is None else min(wanted, b.left)
            if take == 0:
                continue
            if b.left is not None:
                b.left -= take
            b.allocated += take
            drawn.append((b, take))
            wanted -= take
        return drawn

    # --- R2 ----------------------------------------------------------------------------

    def grant(
        self,
        *,
        kind: str,
        zone: str,
        bytes: int,
        at: datetime,
        expires_at: datetime | None,
        now: datetime,
        rolls_over: bool = False,
    ) -> BucketModel:
        reasons = set()
        if not 1 <= bytes <= MAX_BYTES:
            reasons.add("bytes")
        if rolls_over and zone == "roaming":  # R11
            reasons.add("rolls_over")
        period = self.period_of(at)
        if expires_at is None:
            expires_at = self.end(period)
        if expires_at <= at:
            reasons.add("expires_at")
        try:
            self._refuse_instant("at", at, None)
        except Refusal as refusal:
            reasons |= refusal.fields
        if reasons:
            raise Refusal(reasons)
        self.close_due(now, before=period)
        self.open_through(period)
        return self._add_bucket(
            kind=kind,
            zone=zone,
            period=period_key(period),
            granted=bytes,
            valid_from=at,
            expires_at=expires_at,
            rolls_over=rolls_over,
        )

    # --- reads -------------------------------------------------------------------------

    def remaining(self, now: datetime) -> dict[str, int | None]:
        """SPEC pool_status ``remaining_bytes``: left of every bucket valid now, per zone."""
        out = {}
        for zone in ("domestic", "roaming"):
            lefts = [b.left for b in self.buckets if b.zone == zone and b.valid_at(now)]
            out[zone] = None if None in lefts else sum(lefts)
        return out

    def rollover_remaining(self, now: datetime) -> int:
        return sum(b.left for b in self.buckets if b.kind == "rollover" and b.valid_at(now))

    def awaiting_close(self, now: datetime) -> list[str]:
        first = self.first if self.last_closed is None else self.last_closed + 1
        return [period_key(p) for p in range(first, self.period_of(now))]

    def usage_of(self, period: str, username: str | None = None) -> tuple[int, int, int]:
        """Used, covered and overage bytes in ``period`` (of one member, or everyone)."""
        records = [
            r
            for r in self.records.values()
            if r.period == period and (username is None or r.member == username)
        ]
        return (
            sum(r.bytes for r in records),
            sum(r.covered for r in records),
            sum(r.overage for r in records),
        )
