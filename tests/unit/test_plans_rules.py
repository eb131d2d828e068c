"""The plans rules (plans/rules.py): plain values in, plain values out, no database.

The property tests drive tests/reference_model.py and the rules with the same random
inputs: every close the model makes is also worked out by ``rules.close_period`` from
the model's state just before it, and both must agree to the byte.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import problems
from core.periods import Calendar, Period
from core.problems import Problem
from plans import rules
from tests import reference_model as ref

ROOT = Path(__file__).resolve().parents[2]
GB = 10**9
PARIS = Calendar("Europe/Paris", 1)
JAN = Period(2026, 1)


class PlainTerms(NamedTuple):
    monthly_allowance_bytes: int | None = 10 * GB
    roaming_allowance_bytes: int = 0
    rollover: bool = False
    rollover_months: int = 1
    rollover_cap_bytes: int | None = None
    consumption_order: str = "rollover_first"


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def test_the_rules_import_no_django():
    code = "import sys, plans.rules; print(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "'django'" not in done.stdout


# --- R1 ------------------------------------------------------------------------------


def test_r1_opening_creates_a_domestic_allowance_for_exactly_the_period():
    [bucket] = rules.opening_buckets(PARIS, JAN, PlainTerms())
    assert bucket == rules.BucketSpec(
        "allowance",
        "domestic",
        "2026-01",
        10 * GB,
        datetime(2025, 12, 31, 23, tzinfo=UTC),
        datetime(2026, 1, 31, 23, tzinfo=UTC),
    )


def test_r1_an_unlimited_plan_with_roaming_opens_two_allowances():
    domestic, roaming = rules.opening_buckets(
        PARIS, JAN, PlainTerms(monthly_allowance_bytes=None, roaming_allowance_bytes=GB)
    )
    assert (domestic.zone, domestic.granted_bytes) == ("domestic", None)
    assert (roaming.zone, roaming.granted_bytes, roaming.kind) == ("roaming", GB, "allowance")
    assert roaming.valid_from == domestic.valid_from


# --- R3.2 ------------------------------------------------------------------------------


def bucket(pk, kind, expires_at, valid_from=None):
    return SimpleNamespace(pk=pk, kind=kind, expires_at=expires_at, valid_from=valid_from or at(1))


def test_r2_a_pack_lasts_to_the_end_of_its_period_unless_told_otherwise():
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Paris moves its clocks
    pack = rules.pack_bucket(PARIS, kind="addon", zone="roaming", bytes=5 * GB, at=at)
    assert pack == rules.BucketSpec(
        "addon", "roaming", "2026-03", 5 * GB, at, datetime(2026, 3, 31, 22, tzinfo=UTC)
    )
    later = datetime(2026, 6, 1, tzinfo=UTC)
    bonus = rules.pack_bucket(
        PARIS, kind="bonus", zone="domestic", bytes=1, at=at, expires_at=later, note="gift"
    )
    assert (bonus.period, bonus.expires_at, bonus.note) == ("2026-03", later, "gift")


def test_r3_rollover_first_and_last_order_the_kinds():
    buckets = [
        bucket(1, "addon", at(9)),
        bucket(2, "rollover", at(9)),
        bucket(3, "allowance", at(9)),
    ]
    buckets.append(bucket(4, "bonus", at(9)))

    def kinds(order, zone="domestic"):
        return [b.kind for b in rules.draw_order(buckets, consumption_order=order, zone=zone)]

    assert kinds("rollover_first") == ["rollover", "allowance", "bonus", "addon"]
    assert kinds("rollover_last") == ["allowance", "bonus", "addon", "rollover"]
    assert kinds(["bonus", "addon", "allowance", "rollover"]) == [
        "bonus",
        "addon",
        "allowance",
        "rollover",
    ]
    assert rules.kind_order("rollover_first", "roaming") == ["allowance", "bonus", "addon"]


def test_r3_within_a_kind_soonest_expiry_then_older_grant_then_id():
    buckets = [
        bucket(5, "addon", at(20), at(2)),
        bucket(4, "addon", at(20), at(2)),
        bucket(3, "addon", at(20), at(1)),
        bucket(9, "addon", at(10), at(5)),
    ]
    ordered = rules.draw_order(buckets, consumption_order="rollover_last", zone="domestic")
    assert [b.pk for b in ordered] == [9, 3, 4, 5]


# --- R4 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "unused", "rolled"),
    [
        (None, 5, 0),
        (PlainTerms(rollover=False), 5, 0),
        (PlainTerms(rollover=True), None, 0),
        (PlainTerms(rollover=True), 5, 5),
        (PlainTerms(rollover=True, rollover_cap_bytes=3), 5, 3),
        (PlainTerms(rollover=True, rollover_cap_bytes=0), 5, 0),
        (PlainTerms(rollover=True, rollover_cap_bytes=9), 5, 5),
    ],
)
def test_r4_rollover_amount(terms, unused, rolled):
    assert rules.rollover_amount(terms, unused) == rolled


def test_r4_close_rolls_up_to_the_cap_and_expires_the_rest():
    end = PARIS.end(JAN)
    terms = PlainTerms(rollover=True, rollover_months=2, rollover_cap_bytes=3 * GB)
    ending = [
        rules.Leftover(7, 2 * GB, at(20)),  # an add-on
        rules.Leftover(1, 5 * GB, end),  # the allowance
        rules.Leftover(8, 1 * GB, end),  # roaming
    ]

    outcome = rules.close_period(PARIS, JAN, terms, allowance=(1, 5 * GB), ending=ending)

    assert (outcome.unused, outcome.rolled, outcome.expired) == (5 * GB, 3 * GB, 5 * GB)
    assert (outcome.rolled_from, outcome.rolled_at) == (1, end)
    assert outcome.expiries == (
        rules.Expiry(7, 2 * GB, at(20)),
        rules.Expiry(1, 2 * GB, end),
        rules.Expiry(8, GB, end),
    )
    assert outcome.rollover == rules.BucketSpec(
        "rollover",
        "domestic",
        "2026-01",
        3 * GB,
        end,
        PARIS.start(Period(2026, 4)),
        "Rolled over from 2026-01",
    )


def test_r4_nothing_rolls_from_an_unlimited_allowance_and_nothing_expires_from_it():
    outcome = rules.close_period(
        PARIS,
        JAN,
        PlainTerms(monthly_allowance_bytes=None, rollover=True),
        allowance=(1, None),
        ending=[],
    )
    assert (outcome.unused, outcome.rolled, outcome.rollover, outcome.expiries) == (
        None,
        0,
        None,
        (),
    )


def test_r4_an_allowance_that_rolls_everything_expires_nothing():
    end = PARIS.end(JAN)
    outcome = rules.close_period(
        PARIS,
        JAN,
        PlainTerms(rollover=True),
        allowance=(1, GB),
        ending=[rules.Leftover(1, GB, end)],
    )
    assert (outcome.rolled, outcome.expiries, outcome.expired) == (GB, (), 0)


# --- R5 --------------------------------------------------------------------------------


def test_r5_closed_period_names_the_period_and_the_time():
    problem = rules.closed_period_problem(JAN, JAN, "at", at(5))
    assert (
        str(problem) == "at: falls in period 2026-01, which is closed (2026-01-05T00:00:00+00:00)"
    )
    assert rules.closed_period_problem(JAN.next(), JAN, "at", at(5, 2)) is None
    assert rules.closed_period_problem(JAN, None, "at", at(5)) is None


def test_r5_before_start_period():
    problem = rules.before_start_problem(JAN, JAN.next(), "started_at", at(5))
    assert problem == Problem(
        "started_at", "is before the household's start period 2026-02", "2026-01-05T00:00:00+00:00"
    )
    assert rules.before_start_problem(JAN, JAN, "started_at", at(5)) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "must be a whole number of bytes"),
        (1.5, "must be a whole number of bytes"),
        (0, "must be from 1 to 10^13 bytes"),
        (10**13 + 1, "must be from 1 to 10^13 bytes"),
    ],
)
def test_r5_bytes_range(value, reason):
    assert problems.bytes_problem("bytes", value, minimum=1, maximum=10**13) == Problem(
        "bytes", reason, value
    )


def test_r5_bytes_in_range_and_other_predicates_pass():
    assert problems.bytes_problem("bytes", 10**13, minimum=1, maximum=10**13) is None
    assert rules.date_range_problem("at", at(1)) is None
    assert rules.expiry_problem(at(1), at(2)) is None
    assert problems.choice_problem("zone", "roaming", ["domestic", "roaming"]) is None


def test_r5_date_range_expiry_and_choice_messages():
    early = datetime(1899, 12, 31, tzinfo=UTC)
    assert str(rules.date_range_problem("at", early)) == (
        "at: must be from the year 1900 to 8999 (1899-12-31T00:00:00+00:00)"
    )
    assert str(rules.expiry_problem(at(2), at(1))) == (
        "expires_at: must be after the grant time 2026-01-02T00:00:00+00:00 "
        "(2026-01-01T00:00:00+00:00)"
    )
    assert str(problems.choice_problem("zone", "moon", ["domestic", "roaming"])) == (
        "zone: must be one of domestic, roaming (moon)"
    )


# --- against the reference model ----------------------------------------------------------

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"]
AMOUNTS = st.integers(min_value=1, max_value=20 * GB)


def plain_terms(terms: ref.Terms) -> PlainTerms:
    return PlainTerms(
        terms.allowance,
        terms.roaming,
        terms.rollover,
        terms.rollover_months,
        terms.rollover_cap,
        terms.order,
    )


class CheckedHousehold(ref.HouseholdModel):
    """The reference model, whose every close is also worked out by the rules."""

    def close(self, period: int, now: datetime) -> ref.CloseModel:
        self.open_through(period + 1)  # what the model's close does first
        end = self.end(period)
        key = ref.period_key(period)
        (allowance,) = [
            b for b in self.buckets if (b.kind, b.zone, b.period) == ("allowance", "domestic", key)
        ]
        ending = [
            rules.Leftover(b.seq, b.left, b.expires_at)
            for b in self.buckets
            if b.expires_at <= end and b.left is not None and b.left > 0
        ]
        calendar = Calendar(self.zone.key, self.cycle_day)
        outcome = rules.close_period(
            calendar,
            Period.parse(key),
            plain_terms(self.terms),
            allowance=(allowance.seq, allowance.left),
            ending=ending,
        )
        expired_before = {b.seq: b.expired for b in self.buckets}

        close = super().close(period, now)

        assert (outcome.period, outcome.unused) == (close.period, close.unused)
        assert (outcome.rolled, outcome.expired) == (close.rolled, close.expired)
        assert outcome.rolled == rules.rollover_amount(plain_terms(self.terms), close.unused)
        expired = {
            b.seq: b.expired - expired_before.get(b.seq, 0)
            for b in self.buckets
            if b.expired != expired_before.get(b.seq, 0)
        }
        assert {e.pk: e.bytes for e in outcome.expiries} == expired
        rolled = [b for b in self.buckets if b.kind == "rollover" and b.period == key]
        if outcome.rollover is None:
            assert rolled == []
        else:
            (bucket,) = rolled
            spec = outcome.rollover
            assert (spec.kind, spec.zone, spec.period, spec.granted_bytes) == (
                bucket.kind,
                bucket.zone,
                bucket.period,
                bucket.granted,
            )
            assert (spec.valid_from, spec.expires_at) == (bucket.valid_from, bucket.expires_at)
        return close

    def grant(self, *, kind, zone, bytes, at, expires_at, now):
        bucket = super().grant(
            kind=kind, zone=zone, bytes=bytes, at=at, expires_at=expires_at, now=now
        )
        calendar = Calendar(self.zone.key, self.cycle_day)
        spec = rules.pack_bucket(
            calendar, kind=kind, zone=zone, bytes=bytes, at=at, expires_at=expires_at
        )
        assert spec == rules.BucketSpec(
            bucket.kind,
            bucket.zone,
            bucket.period,
            bucket.granted,
            bucket.valid_from,
            bucket.expires_at,
        )
        return bucket

    def open_through(self, period: int) -> None:
        start = self.first if self.opened_through is None else self.opened_through + 1
        calendar = Calendar(self.zone.key, self.cycle_day)
        for p in range(start, period + 1):
            count = len(self.buckets)
            specs = rules.opening_buckets(
                calendar, Period.parse(ref.period_key(p)), plain_terms(self.terms)
            )
            super().open_through(p)
            made = [
                (b.kind, b.zone, b.period, b.granted, b.valid_from, b.expires_at)
                for b in self.buckets[count:]
            ]
            assert [tuple(spec[:6]) for spec in specs] == made


terms_strategy = st.builds(
    ref.Terms,
    allowance=st.one_of(st.none(), st.integers(min_value=0, max_value=20 * GB)),
    roaming=st.sampled_from([0, 0, GB, 3 * GB]),
    rollover=st.booleans(),
    rollover_months=st.integers(min_value=1, max_value=4),
    rollover_cap=st.one_of(st.none(), st.just(0), st.integers(min_value=0, max_value=10 * GB)),
    order=st.sampled_from(["rollover_first", "rollover_last"]),
)
event = st.one_of(
    st.tuples(
        st.just("usage"),
        st.integers(min_value=1, max_value=4 * GB),
        st.sampled_from(["domestic", "domestic", "roaming"]),
    ),
    st.tuples(
        st.just("grant"),
        AMOUNTS,
        st.sampled_from(["domestic", "roaming"]),
        st.sampled_from(["addon", "bonus"]),
        st.one_of(st.none(), st.integers(min_value=1, max_value=70)),
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    time_zone=st.sampled_from(ZONES),
    cycle_day=st.integers(min_value=1, max_value=28),
    terms=terms_strategy,
    steps=st.lists(st.tuples(st.integers(min_value=0, max_value=20 * 24), event), max_size=25),
)
def test_the_rules_close_and_open_as_the_reference_model_does(time_zone, cycle_day, terms, steps):
    household = CheckedHousehold(
        time_zone=time_zone,
        cycle_day=cycle_day,
        start_period="2026-01",
        terms=terms,
        members=[ref.MemberModel("ann", None, "notify", True)],
        grace=timedelta(hours=48),
    )
    now = household.start(household.first)
    household.open_through(household.first)
    for number, (hours, (kind, amount, zone, *grant)) in enumerate(steps):
        now += timedelta(hours=hours)
        if kind == "usage":
            household.record_usage("ann", bytes=amount, zone=zone, at=now, ref=str(number), now=now)
        else:
            grant_kind, days = grant
            expires_at = None if days is None else now + timedelta(days=days)
            household.grant(
                kind=grant_kind, zone=zone, bytes=amount, at=now, expires_at=expires_at, now=now
            )
    household.close_periods(now + timedelta(days=40))


def kind_strategy(zone):
    kinds = ["allowance", "bonus", "addon"] + (["rollover"] if zone == "domestic" else [])
    return st.sampled_from(kinds)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["domestic", "roaming"]),
    order=st.sampled_from(["rollover_first", "rollover_last"]),
    data=st.data(),
)
def test_the_draw_order_is_the_reference_models(zone, order, data):
    days = st.integers(min_value=1, max_value=4)
    specs = data.draw(st.lists(st.tuples(kind_strategy(zone), days, days), max_size=12))
    buckets = [bucket(pk, kind, at(10 + e), at(v)) for pk, (kind, e, v) in enumerate(specs)]
    kinds = ref.KIND_ORDER[zone, order]
    expected = sorted(
        buckets, key=lambda b: (kinds.index(b.kind), b.expires_at, b.valid_from, b.pk)
    )

    assert rules.draw_order(buckets, consumption_order=order, zone=zone) == expected
    # A total order: the answer does not depend on the order the buckets come in.
    shuffled = data.draw(st.permutations(buckets))
    assert rules.draw_order(shuffled, consumption_order=order, zone=zone) == expected
