"""Property test of the accounting engine (SPEC R1–R6).

A hypothesis state machine drives random sequences of usage (now and then replayed,
sometimes big enough to overflow the pool), grants, member changes, a clock moving
forward by minutes to weeks, period closes, and operations that must be refused, on a
household whose plan, calendar and members vary from one example to the next. A step
records one to three usages or grants one to three packs (either may first let time
pass), moves the clock, runs the cron close, tries something that must be refused, or
edits a member. After every step that changed something it checks:

- ``usage.ledger.find_violations`` finds nothing (R6);
- every record's bytes = covered + overage, no bucket is below zero, a blocking cap
  never lets the pool cover more than the cap (R3.3), closes are contiguous (R4.5);
- ``pool_status`` remaining figures = the sum of what is left in the buckets valid now;
- the services agree with ``tests.reference_model`` (a plain-Python model of R1–R5):
  the same buckets with the same balances, the same allocations, covered and overage
  bytes for every record, the same closes, and the same refusals.

A refused operation, or an identical replay, must change nothing (not even close or
open a period): a snapshot of the household's rows before and after proves it. After a
step that only moved the clock or edited a member, the pool_status checks run.

``DATAPOOL_HYPOTHESIS_EXAMPLES`` raises the number of examples (200 by default).
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Member
from accounts.services import create_household, create_member, update_member
from core.errors import Refused
from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.rules import order_as_list, stored_order
from plans.services import close_periods, create_plan, grant, set_plan
from tests.factories import GB, MB
from tests.reference_model import (
    MAX_BYTES,
    HouseholdModel,
    MemberModel,
    Refusal,
    Terms,
    period_key,
)
from usage.ledger import find_violations
from usage.models import Allocation, UsageRecord
from usage.selectors import pool_status
from usage.services import record_usage

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("DATAPOOL_HYPOTHESIS_EXAMPLES", "200"))
MICROSECOND = timedelta(microseconds=1)
FIVE_MINUTES = timedelta(minutes=5)
STEPS = 1000  # a "fraction" is an integer from 0 to STEPS: 0 is one end, STEPS the other

_households = itertools.count()
HISTORY_FIGURES = (
    "period",
    "used_bytes",
    "covered_bytes",
    "overage_bytes",
    "rolled_bytes",
    "expired_bytes",
)

MOSTLY_DOMESTIC = st.sampled_from(["domestic", "domestic", "domestic", "roaming"])
FRACTIONS = st.integers(0, STEPS)
MEMBER_INDEXES = st.integers(0, 2)
USAGE_BYTES = st.one_of(
    st.integers(1, 3 * GB),
    st.sampled_from([1, 100 * MB, GB, 4 * GB, 12 * GB, 40 * GB, MAX_BYTES]),
)
GRANT_BYTES = st.one_of(
    st.integers(1, 2 * GB), st.sampled_from([1, 500 * MB, GB, 5 * GB, MAX_BYTES])
)
MOVES = st.one_of(
    st.sampled_from(["period_end", "grace_end", "just_before_grace_end"]),
    st.integers(1, 40 * 24).map(lambda hours: timedelta(hours=hours)),
    st.integers(1, 3600).map(lambda seconds: timedelta(seconds=seconds)),
)
# Usage and grants may first let time pass (a third of the time they do not).
WAITS = st.one_of(st.none(), st.integers(1, 48).map(lambda hours: timedelta(hours=hours)), MOVES)
CAPS = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from([0, 300 * MB, 2 * GB, 8 * GB]),
        st.sampled_from(["block", "block", "notify"]),
    ),
)

USAGE = st.fixed_dictionaries(
    {
        "member": MEMBER_INDEXES,
        "zone": MOSTLY_DOMESTIC,
        "bytes": USAGE_BYTES,
        "when": st.sampled_from(["now", "recent", "current", "previous", "bucket_edge"]),
        "fraction": FRACTIONS,
        "repeat": st.sampled_from([None] * 8 + ["same", "offset"]),
    }
)
PACK = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["addon", "bonus"]),
        "zone": MOSTLY_DOMESTIC,
        "bytes": GRANT_BYTES,
        "when": st.sampled_from(["clock", "clock", "recent", "previous", "future", "bucket_edge"]),
        "fraction": FRACTIONS,
        "lifetime_hours": st.one_of(st.none(), st.integers(1, 100 * 24)),
        "rolls_over": st.sampled_from([False, False, True]),  # R11
    }
)
REFUSALS = [
    "usage_closed",
    "usage_future",
    "usage_before_start",
    "usage_inactive",
    "usage_bytes",
    "usage_ref_bytes",
    "usage_ref_zone",
    "usage_ref_at",
    "usage_ref_member",
    "grant_closed",
    "grant_expires",
    "grant_before_start",
    "grant_bytes",
]


def action(name: str, **arguments) -> st.SearchStrategy:
    return st.tuples(st.just(name), st.fixed_dictionaries(arguments))


def actions() -> st.SearchStrategy:
    """One step: a method name of the machine and its arguments.

    One rule draws them all, rather than a rule each: hypothesis's swarm testing turns
    each rule off in about half the examples, which left half of them without usage
    or grants. Usage and grants come up most often (listed several times).
    """
    use_data = [
        action("use_data", wait=WAITS, usages=st.lists(USAGE, min_size=1, max_size=3))
        for _ in range(3)
    ]
    grant_packs = [
        action("grant_packs", wait=WAITS, packs=st.lists(PACK, min_size=1, max_size=3))
        for _ in range(2)
    ]
    return st.one_of(
        *use_data,
        *grant_packs,
        action("advance_clock", move=MOVES),
        action("close"),
        action(
            "refused",
            reason=st.sampled_from(REFUSALS),
            member=MEMBER_INDEXES,
            fraction=FRACTIONS,
            bad_bytes=st.sampled_from([0, -1, MAX_BYTES + 1]),
        ),
        action("change_member", member=MEMBER_INDEXES, active=st.booleans(), cap=CAPS),
        *[action("change_plan", terms=plan_terms()) for _ in range(2)],
    )


@st.composite
def allocation_terms(draw):
    """SPEC R7, R10, R12: any consumption order, roaming from the domestic pool within a
    fair-use volume, what happens when the pool is empty."""
    mode = draw(st.sampled_from(["separate", "from_domestic"]))
    terms = {
        "order": draw(
            st.sampled_from(["rollover_first", "rollover_last"])
            | st.permutations(["allowance", "rollover", "bonus", "addon"]).map(tuple)
        ),
        "roaming_mode": mode,
        "fair_use": draw(st.sampled_from([None, 0, GB, 4 * GB])) if mode != "separate" else None,
        "when_empty": draw(st.sampled_from(["overage", "slowed", "blocked"])),
    }
    return terms


@st.composite
def plan_terms(draw):
    return Terms(
        allowance=draw(st.sampled_from([None, 0, GB, 2 * GB, 5 * GB, 20 * GB, 20 * GB])),
        roaming=draw(st.sampled_from([0, GB, 3 * GB])),
        rollover=draw(st.sampled_from([True, True, True, False])),
        rollover_months=draw(st.sampled_from([1, 2, 3, 6])),
        rollover_cap=draw(st.sampled_from([None, None, 0, 2 * GB])),
        bank_cap=draw(st.sampled_from([None, None, 0, GB, 3 * GB, 25 * GB])),  # R8
        on_change=draw(st.sampled_from(["keep", "forfeit", "forfeit_on_downgrade"])),  # R9
        **draw(allocation_terms()),
    )


def plan_fields(terms: Terms) -> dict:
    return {
        "monthly_allowance_bytes": terms.allowance,
        "roaming_allowance_bytes": terms.roaming,
        "rollover": terms.rollover,
        "rollover_months": terms.rollover_months,
        "rollover_cap_bytes": terms.rollover_cap,
        "consumption_order": stored_order(order_as_list(terms.order)),
        "rollover_bank_cap_bytes": terms.bank_cap,
        "rollover_on_plan_change": terms.on_change,
        "roaming_mode": terms.roaming_mode,
        "roaming_fair_use_bytes": terms.fair_use,
        "when_pool_is_empty": terms.when_empty,
    }


@st.composite
def household_configs(draw):
    terms = draw(plan_terms())
    members = [(draw(CAPS), True)]  # the owner
    for _ in range(draw(st.integers(0, 2))):
        members.append((draw(CAPS), draw(st.sampled_from([True, True, True, False]))))
    return {
        # Starts just before (or at) DST changes and a year's end.
        "start_period": draw(st.sampled_from(["2025-02", "2025-10", "2025-12"])),
        "time_zone": draw(st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Shanghai"])),
        "cycle_day": draw(st.sampled_from([1, 28])),
        "terms": terms,
        "members": members,
        "clock_offset": draw(st.integers(0, 27 * 24 * 3600)),
    }


def between(low: datetime, high: datetime, fraction: int) -> datetime:
    return low + (high - low) * fraction // STEPS


class AccountingMachine(RuleBasedStateMachine):
    # --- setting up --------------------------------------------------------------------

    @initialize(config=household_configs())
    def create_household(self, config):
        number = next(_households)
        terms: Terms = config["terms"]
        self.household = create_household(
            slug=f"prop-{number}",
            name=f"Property {number}",
            start_period=config["start_period"],
            time_zone=config["time_zone"],
            cycle_day=config["cycle_day"],
        )
        members = []
        for i, (cap, active) in enumerate(config["members"]):
            cap_bytes, cap_action = cap or (None, "notify")
            members.append(
                MemberModel(f"p{number}-m{i}", cap=cap_bytes, cap_action=cap_action, active=active)
            )
        self.model = HouseholdModel(
            time_zone=config["time_zone"],
            cycle_day=config["cycle_day"],
            start_period=config["start_period"],
            terms=terms,
            members=members,
            grace=timedelta(hours=django_settings.CLOSE_GRACE_HOURS),
        )
        first = self.model.first
        self.clock = self.model.start(first) + timedelta(seconds=config["clock_offset"])
        plan = create_plan(self.household, name="Plan", **plan_fields(terms))
        set_plan(self.household, plan, now=self.clock)
        self.members = [
            create_member(
                self.household,
                username=m.username,
                role=Member.Role.OWNER if i == 0 else Member.Role.MEMBER,
                monthly_cap_bytes=m.cap,
                cap_action=m.cap_action,
                active=m.active,
            )
            for i, m in enumerate(members)
        ]
        self.refs: list[str] = []
        # R3.3 is checked against the cap in force when each record was made.
        self.block_cap_at_record: dict[str, int | None] = {}
        self.to_check: str | None = "all"  # what the last step may have changed

    # --- helpers -----------------------------------------------------------------------

    def member(self, index: int) -> Member:
        return self.members[index % len(self.members)]

    def instant(self, when: str, fraction: int) -> datetime:
        """An instant now (up to 5 minutes ahead), in the last day, anywhere in the
        current period (up to 5 minutes ahead), in the previous period while it is
        open, or at the edge of an existing bucket."""
        model = self.model
        current = model.period_of(self.clock)
        previous = current - 1
        if when == "now":
            return between(self.clock, self.clock + FIVE_MINUTES, fraction)
        if when == "recent":
            since = max(model.start(current), self.clock - timedelta(days=1))
            return between(since, self.clock + FIVE_MINUTES, fraction)
        if when == "previous" and previous >= model.first and not model.is_closed(previous):
            return between(model.start(previous), model.end(previous) - MICROSECOND, fraction)
        # Packs and rollovers first: an allowance's edges are the period's.
        edged = [b for b in model.buckets if b.kind != "allowance"] or model.buckets
        if when == "bucket_edge" and edged:
            bucket = edged[fraction % len(edged)]
            edge = (fraction // len(edged)) % 3
            return [bucket.valid_from, bucket.expires_at - MICROSECOND, bucket.expires_at][edge]
        return between(model.start(current), self.clock + FIVE_MINUTES, fraction)

    def wait(self, move: timedelta | str | None) -> None:
        """Move the clock on by a while, or to the next period end, or to the instant a
        period's grace passes (or 1 µs before it)."""
        model = self.model
        if isinstance(move, str):
            shift = {
                "period_end": timedelta(0),
                "grace_end": model.grace,
                "just_before_grace_end": model.grace - MICROSECOND,
            }[move]
            current = model.period_of(self.clock)
            targets = [model.end(p) + shift for p in (current - 1, current)]
            move = min(t for t in targets if t > self.clock) - self.clock
        if move is not None:
            self.clock += move

    def snapshot(self) -> tuple:
        """Everything a write could change in the household (opening a period adds
        buckets; every movement of bytes adds a ledger entry)."""
        household = self.household
        return (
            list(Bucket.objects.filter(household=household).order_by("pk").values_list()),
            list(UsageRecord.objects.filter(household=household).order_by("pk").values_list()),
            list(PeriodClose.objects.filter(household=household).order_by("pk").values_list()),
            LedgerEntry.objects.filter(household=household).count(),
        )

    def expect_refused(self, refusal: Refusal, call) -> None:
        before = self.snapshot()
        with pytest.raises(Refused) as caught:
            call()
        assert caught.value.field in refusal.fields, (str(caught.value), refusal.fields)
        assert self.snapshot() == before, "a refused operation changed something"

    def usage(self, member: Member, *, bytes, zone, at, ref, must_refuse=False) -> None:
        def call():
            return record_usage(member, bytes=bytes, zone=zone, at=at, ref=ref, now=self.clock)

        model_member = self.model.members[member.username]
        block_cap = model_member.cap if model_member.cap_action == "block" else None
        try:
            expected = self.model.record_usage(
                member.username, bytes=bytes, zone=zone, at=at, ref=ref, now=self.clock
            )
        except Refusal as refusal:
            self.expect_refused(refusal, call)
            return
        assert not must_refuse, "the model accepted what the test meant to be refused"
        if expected is None:  # identical replay: a no-op
            before = self.snapshot()
            assert call().replayed
            assert self.snapshot() == before, "replaying an identical record changed something"
            return
        record = call()
        assert not record.replayed
        assert (record.period, record.covered_bytes, record.overage_bytes) == (
            expected.period,
            expected.covered,
            expected.overage,
        )
        self.refs.append(ref)
        self.block_cap_at_record[ref] = block_cap
        self.to_check = "all"

    def do_grant(
        self, *, kind, zone, bytes, at, expires_at, rolls_over=False, must_refuse=False
    ) -> None:
        def call():
            return grant(
                self.household,
                kind=kind,
                zone=zone,
                bytes=bytes,
                at=at,
                expires_at=expires_at,
                rolls_over=rolls_over,
                now=self.clock,
            )

        try:
            self.model.grant(
                kind=kind,
                zone=zone,
                bytes=bytes,
                at=at or self.clock,
                expires_at=expires_at,
                now=self.clock,
                rolls_over=rolls_over,
            )
        except Refusal as refusal:
            self.expect_refused(refusal, call)
            return
        assert not must_refuse, "the model accepted what the test meant to be refused"
        call()
        self.to_check = "all"

    # --- steps -------------------------------------------------------------------------

    @rule(action=actions())
    def step(self, action):
        name, arguments = action
        getattr(self, name)(**arguments)

    def use_data(self, wait, usages):
        """R3: one to three new records, or now and then an identical replay of an
        earlier one (R5)."""
        self.wait(wait)
        self.to_check = "status"
        for usage in usages:
            if usage["repeat"] and self.refs:
                self.replay(usage["fraction"], usage["repeat"])
                continue
            self.usage(
                self.member(usage["member"]),
                bytes=usage["bytes"],
                zone=usage["zone"],
                at=self.instant(usage["when"], usage["fraction"]),
                ref=f"r{len(self.refs)}",
            )

    def replay(self, index: int, change: str) -> None:
        """R5: an identical replay is a no-op (even once its period has closed); the
        same ref with other content is refused."""
        old = self.model.records[self.refs[index % len(self.refs)]]
        member = next(m for m in self.members if m.username == old.member)
        content = {"bytes": old.bytes, "zone": old.zone, "at": old.at}
        if change == "offset":  # the same instant written with another offset
            content["at"] = old.at.astimezone(self.model.zone)
        elif change == "bytes":
            content["bytes"] = old.bytes + 1
        elif change == "zone":
            content["zone"] = "roaming" if old.zone == "domestic" else "domestic"
        elif change == "at":
            content["at"] = old.at + MICROSECOND
        elif change == "member" and len(self.members) > 1:
            member = next(m for m in self.members if m.username != old.member)
        elif change == "member":
            content["bytes"] = old.bytes * 2
        must_refuse = change not in ("same", "offset")
        self.usage(member, ref=old.ref, **content, must_refuse=must_refuse)

    def refused(self, reason, member, fraction, bad_bytes):
        """R5, R2: bad records and grants are refused, and change and close nothing."""
        model = self.model
        what, reason = reason.split("_", 1)
        if reason.startswith("ref_"):
            if self.refs:
                self.replay(fraction, reason.removeprefix("ref_"))
            return
        member = self.member(member)
        bytes, at, expires_at = GB, self.clock, None
        if reason == "closed":
            if model.last_closed is None:
                return
            last = model.last_closed
            at = between(model.start(last), model.end(last) - MICROSECOND, fraction)
        elif reason == "future":  # just past the 5 minutes allowed, or well past
            past = MICROSECOND if fraction % 2 == 0 else timedelta(minutes=fraction)
            at = self.clock + FIVE_MINUTES + past
        elif reason == "before_start":
            at = model.start(model.first) - MICROSECOND - timedelta(hours=fraction)
        elif reason == "inactive":
            inactive = [m for m in self.members if not model.members[m.username].active]
            if not inactive:
                return
            member = inactive[fraction % len(inactive)]
        elif reason == "expires":
            expires_at = at - timedelta(seconds=fraction)
        else:
            bytes = bad_bytes
        if what == "usage":
            ref = f"refused-{fraction}"
            self.usage(member, bytes=bytes, zone="domestic", at=at, ref=ref, must_refuse=True)
        else:
            self.do_grant(
                kind="addon",
                zone="domestic",
                bytes=bytes,
                at=at,
                expires_at=expires_at,
                must_refuse=True,
            )

    def grant_packs(self, wait, packs):
        """R2: one to three packs, each valid from ``at`` (default now, sometimes
        scheduled for later) to its own expiry (default the end of the period)."""
        self.wait(wait)
        self.to_check = "status"
        for pack in packs:
            if pack["when"] == "clock":  # the default: now
                at = None
            elif pack["when"] == "future":
                at = between(self.clock, self.clock + timedelta(days=40), pack["fraction"])
            else:
                at = self.instant(pack["when"], pack["fraction"])
            expires_at = None
            if pack["lifetime_hours"] is not None:
                expires_at = (at or self.clock) + timedelta(hours=pack["lifetime_hours"])
            self.do_grant(
                kind=pack["kind"],
                zone=pack["zone"],
                bytes=pack["bytes"],
                at=at,
                expires_at=expires_at,
                rolls_over=pack["rolls_over"],
            )

    def change_plan(self, terms):
        """R9: another plan, in force from the next period (or the first not opened)."""
        plans = self.household.plans.count()
        plan = create_plan(self.household, name=f"Plan {plans + 1}", **plan_fields(terms))
        set_plan(self.household, plan, now=self.clock)
        self.model.change_plan(terms, self.clock)
        self.to_check = "status"

    def change_member(self, member, active, cap):
        member = self.member(member)
        if member.role == Member.Role.OWNER:
            active = True
        cap_bytes, cap_action = cap or (None, "notify")
        update_member(member, active=active, monthly_cap_bytes=cap_bytes, cap_action=cap_action)
        self.model.members[member.username] = MemberModel(
            member.username, cap=cap_bytes, cap_action=cap_action, active=active
        )
        self.to_check = "status"

    def advance_clock(self, move):
        self.wait(move)
        self.to_check = "status"

    def close(self):
        """R4: the cron close; closing again at the same instant does nothing."""
        self.to_check = "all"
        expected = self.model.close_periods(self.clock)
        report = close_periods(household=self.household, now=self.clock)
        (result,) = report.results
        assert not result.error
        assert [
            (c.period, c.unused_bytes, c.rolled_bytes, c.expired_bytes, c.banked_bytes, c.forfeited)
            for c in result.closes
        ] == [(c.period, c.unused, c.rolled, c.expired, c.banked, c.forfeited) for c in expected]

    # --- after every step --------------------------------------------------------------
    # A step that changed nothing (a refusal or an identical replay, both proven
    # unchanged by a snapshot) needs no check; a step that only moved the clock or
    # edited a member changes what pool_status shows; any other step gets every check.

    @invariant()
    def accounts_hold_and_agree_with_the_model(self):
        to_check, self.to_check = self.to_check, None
        if to_check is None:
            return
        status = pool_status(self.household, now=self.clock)
        self.model.open_through(self.model.period_of(self.clock))  # pool_status opens it
        buckets = list(Bucket.objects.filter(household=self.household).order_by("pk"))
        self.check_status(status, buckets)
        if to_check == "all":
            self.check_ledger(buckets)

    def check_status(self, status: dict, buckets: list[Bucket]) -> None:
        model, now = self.model, self.clock
        valid = [b for b in buckets if b.valid_from <= now < b.expires_at and not b.forfeited]
        for zone in ("domestic", "roaming"):
            lefts = [b.left_bytes for b in valid if b.zone == zone]
            assert status["remaining_bytes"][zone] == (None if None in lefts else sum(lefts))
        assert len(status["buckets"]) == len(valid)

        current = period_key(model.period_of(now))
        assert status["period"] == current
        assert status["remaining_bytes"] == model.remaining(now)
        assert status["rollover_remaining_bytes"] == model.rollover_remaining(now)
        assert [p["period"] for p in status["awaiting_close"]] == model.awaiting_close(now)
        pending = model.pending_rollover(now)  # R4.7, with R8, R9 and R11
        for row in status["awaiting_close"]:
            used = (row["used_bytes"], row["covered_bytes"], row["overage_bytes"])
            assert used == model.usage_of(row["period"])
            assert row["pending_rollover_bytes"] == pending[row["period"]]
        assert [tuple(h[key] for key in HISTORY_FIGURES) for h in status["history"]] == [
            (c.period, *model.usage_of(c.period), c.rolled, c.expired)
            for c in reversed(model.closes)
        ]
        assert [
            (m["username"], m["used_bytes"], m["covered_bytes"], m["overage_bytes"])
            for m in status["members"]
        ] == [
            (name, *model.usage_of(current, name))
            for name, m in sorted(model.members.items())
            if m.active or model.usage_of(current, name)[0]
        ]

    def check_ledger(self, buckets: list[Bucket]) -> None:
        household, model = self.household, self.model
        violations = find_violations(household)
        assert not violations, "\n".join(map(str, violations))

        records = list(
            UsageRecord.objects.filter(household=household)
            .select_related("member__user")
            .order_by("pk")
        )
        closes = list(PeriodClose.objects.filter(household=household).order_by("period"))
        allocations = defaultdict(list)
        for a in Allocation.objects.filter(record__household=household):
            allocations[a.record_id].append(a)

        # Our own checks, independent of the model.
        for b in buckets:
            assert b.unlimited or b.left_bytes >= 0
            if not b.unlimited:
                total = b.allocated_bytes + b.rolled_out_bytes + b.expired_bytes + b.left_bytes
                assert total == b.granted_bytes
        covered_so_far = defaultdict(int)
        for r in records:
            assert r.bytes == r.covered_bytes + r.overage_bytes
            assert r.covered_bytes == sum(a.bytes for a in allocations[r.pk])
            cap = self.block_cap_at_record[r.ref]
            if cap is not None:  # R3.3
                assert r.covered_bytes <= max(0, cap - covered_so_far[r.member_id, r.period])
            covered_so_far[r.member_id, r.period] += r.covered_bytes
        keys = [c.period for c in closes]
        assert keys == [period_key(model.first + i) for i in range(len(keys))]

        # The reference model: same buckets in creation order (so the same periods
        # opened), same records and closes.
        assert [bucket_state(b) for b in buckets] == [b.state() for b in model.buckets]
        seq_of = {b.pk: i for i, b in enumerate(buckets)}
        found = {
            r.ref: (
                r.member.username,
                r.started_at,
                r.bytes,
                r.zone,
                r.period,
                r.covered_bytes,
                r.overage_bytes,
                (r.from_domestic_bytes, r.capped_bytes, r.beyond_fair_use_bytes),
                sorted((seq_of[a.bucket_id], a.bytes) for a in allocations[r.pk]),
            )
            for r in records
        }
        assert found == {
            ref: (
                r.member,
                r.at,
                r.bytes,
                r.zone,
                r.period,
                r.covered,
                r.overage,
                (r.from_domestic, r.capped, r.beyond_fair_use),
                sorted((b.seq, take) for b, take in r.drawn),
            )
            for ref, r in model.records.items()
        }
        assert [close_state(c) for c in closes] == [
            (c.period, c.unused, c.rolled, c.expired, c.closed_at, c.banked, c.forfeited)
            for c in model.closes
        ]


def close_state(c: PeriodClose) -> tuple:
    figures = (c.period, c.unused_bytes, c.rolled_bytes, c.expired_bytes, c.closed_at)
    return (*figures, c.banked_bytes, c.forfeited)


def bucket_state(b: Bucket) -> tuple:
    return (
        b.kind,
        b.zone,
        b.period,
        b.granted_bytes,
        b.allocated_bytes,
        b.rolled_out_bytes,
        b.expired_bytes,
        b.left_bytes,
        b.valid_from,
        b.expires_at,
        b.rolls_over,
        b.forfeited,
    )


def test_accounting_agrees_with_the_reference_model():
    run_state_machine_as_test(
        AccountingMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
