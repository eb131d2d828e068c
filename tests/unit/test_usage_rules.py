"""The rules of usage (SPEC R3, R5) without a database, and against the reference model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.problems import Problem
from tests import reference_model as model
from usage import rules
from usage.services import imports

MOST = 10**13
ZONES = ("domestic", "roaming")
START = datetime(2026, 3, 1, tzinfo=UTC)  # the period 2026-03 of a UTC, day-1 calendar
END = datetime(2026, 4, 1, tzinfo=UTC)


@dataclass
class Bucket:
    seq: int
    kind: str
    zone: str
    valid_from: datetime
    expires_at: datetime
    left_bytes: int | None
    allocated_bytes: int = 0
    forfeited: bool = False


def bucket(left=100, *, zone="domestic", kind="bonus", valid_from=START, expires_at=END, seq=0):
    return Bucket(seq, kind, zone, valid_from, expires_at, left)


# --- R3 ----------------------------------------------------------------------------


def test_eligible_needs_the_zone_the_instant_and_bytes_left():
    at = START + timedelta(days=3)
    assert rules.eligible(bucket(), zone="domestic", at=at)
    assert rules.eligible(bucket(None), zone="domestic", at=at)  # unlimited
    assert not rules.eligible(bucket(0), zone="domestic", at=at)
    assert not rules.eligible(bucket(), zone="roaming", at=at)
    assert not rules.eligible(bucket(), zone="domestic", at=END)  # expires_at excluded
    assert rules.eligible(bucket(), zone="domestic", at=START)  # valid_from included
    assert not rules.eligible(bucket(), zone="domestic", at=START - timedelta(seconds=1))


def test_cap_room_limits_only_a_blocking_cap():
    assert rules.cap_room(1000, "block", 300) == 700
    assert rules.cap_room(1000, "block", 3000) == 0
    assert rules.cap_room(0, "block", 0) == 0
    assert rules.cap_room(1000, "notify", 300) is None
    assert rules.cap_room(None, "block", 300) is None


def test_draw_takes_greedily_in_order_and_the_rest_is_overage():
    first, second = bucket(30), bucket(50)
    draws, overage = rules.draw([first, second], 100)
    assert [(d.bucket, d.bytes) for d in draws] == [(first, 30), (second, 50)]
    assert overage == 20
    assert (first.left_bytes, first.allocated_bytes) == (0, 30)
    assert (second.left_bytes, second.allocated_bytes) == (0, 50)


def test_draw_from_an_unlimited_bucket_covers_anything():
    unlimited = bucket(None)
    draws, overage = rules.draw([unlimited], MOST)
    assert draws == [rules.Draw(unlimited, MOST)] and overage == 0
    assert unlimited.left_bytes is None and unlimited.allocated_bytes == MOST


def test_draw_within_a_cap_skips_empty_and_invalid_buckets():
    empty, later, open_ = bucket(0), bucket(100, valid_from=END), bucket(100)
    draws, overage = rules.draw([empty, later, open_], 80, at=START, limit=50)
    assert draws == [rules.Draw(open_, 50)] and overage == 30
    assert rules.draw([bucket(100)], 80, limit=0) == ([], 80)  # a cap of 0 blocks it all


# --- §1 ----------------------------------------------------------------------------


def test_same_content_and_a_derived_ref_ignore_the_offset():
    paris = datetime(2026, 3, 2, 11, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    utc = datetime(2026, 3, 2, 11, tzinfo=UTC)
    one = SimpleNamespace(member_id=1, started_at=paris, bytes=5, zone="domestic")
    assert rules.same_content(one, SimpleNamespace(**{**vars(one), "started_at": utc}))
    assert not rules.same_content(one, SimpleNamespace(**{**vars(one), "bytes": 6}))
    ref = rules.derive_ref(username="marie", started_at=paris, bytes=5, zone="domestic")
    assert ref == rules.derive_ref(username="marie", started_at=utc, bytes=5, zone="domestic")
    assert ref.startswith("auto-") and len(ref) == 37


# --- R5 ----------------------------------------------------------------------------


def test_input_problems_word_for_word():
    def first(**given):
        values = {"bytes": 1, "zone": "domestic", "ref": None, **given}
        return rules.input_problem(**values, most=MOST, zones=ZONES)

    assert first() is None
    assert str(first(bytes=1.5)) == "bytes: must be a whole number of bytes (1.5)"
    assert str(first(bytes=True)) == "bytes: must be a whole number of bytes (True)"
    assert str(first(bytes=0)) == "bytes: must be from 1 to 10^13 bytes (0)"
    assert str(first(zone="moon")) == "zone: must be one of domestic, roaming (moon)"
    assert str(first(ref="")) == "ref: must be text of 1 to 200 characters ()"
    assert first(ref="x" * 200) is None
    assert first(ref="x" * 201).reason == "must be text of 1 to 200 characters"


def test_account_problems_word_for_word():
    member = SimpleNamespace(household_id=1, username="marie", active=True)
    assert rules.member_problem(member, 1, "dupont") is None
    assert rules.member_problem(member, 2, "martin") == Problem(
        "member", "is not in household martin", "marie"
    )
    member.active = False
    assert str(rules.member_problem(member, 1, "dupont")) == "member: is not active (marie)"
    late = START + timedelta(minutes=5, seconds=1)
    assert rules.future_problem(START + timedelta(minutes=5), START) is None
    assert str(rules.future_problem(late, START)) == (
        f"started_at: is more than 5 minutes in the future ({late.isoformat()})"
    )


def test_a_replay_with_other_content_is_refused():
    one = SimpleNamespace(member_id=1, started_at=START, bytes=5, zone="domestic", ref="r1")
    other = SimpleNamespace(**{**vars(one), "bytes": 6})
    assert rules.replay_problem(one, one) is None
    assert str(rules.replay_problem(one, other)) == (
        "ref: was already recorded with different content (r1)"
    )
    assert str(rules.replay_problem(one, other, line=4)) == (
        "ref: is used on line 4 with different content (r1)"
    )


def written(**values):
    row = {"household": "dupont", "username": "marie", "started_at": "2026-03-02T10:00:00+01:00"}
    row |= {"bytes": "1000", "zone": "domestic", "ref": "r1", **values}
    return SimpleNamespace(**row)


def problems_of(row, *, household=True, member=True):
    return [
        str(p)
        for p in rules.written_problems(
            row,
            household=household,
            member=member,
            at=rules.read_instant(row.started_at),
            amount=rules.read_amount(row.bytes, MOST),
            most=MOST,
            zones=ZONES,
        )
    ]


def test_written_problems_word_for_word_and_all_of_them():
    assert problems_of(written()) == []
    assert problems_of(written(), household=False) == ["household: no such household (dupont)"]
    assert problems_of(written(), member=False) == [
        "username: is not a member of household dupont (marie)"
    ]
    row = written(started_at="2026-03-02", bytes="1e3", zone="moon", ref="x" * 201)
    assert problems_of(row) == [
        "started_at: must include a UTC offset (2026-03-02)",
        "bytes: must be plain digits (1e3)",
        "zone: must be one of domestic, roaming (moon)",
        "ref: must be at most 200 characters (" + "x" * 40 + "…)",
    ]
    assert problems_of(written(started_at="soon", bytes="0" + "9" * 50)) == [
        "started_at: must be an ISO 8601 date and time (soon)",
        "bytes: must be from 1 to 10^13 bytes (" + ("0" + "9" * 50)[:40] + ")",
    ]
    assert problems_of(written(started_at="0900-01-01T00:00:00+00:00")) == [
        "started_at: must be from the year 1900 to 8999 (0900-01-01T00:00:00+00:00)"
    ]


TEXT = st.sampled_from(["", "0", "1", "12", "10000000000000", "10000000000001", "٣", "-1", "x"])


@settings(max_examples=300, deadline=None)
@given(
    household=st.sampled_from(["dupont", "martin", ""]),
    username=st.sampled_from(["marie", "zoe", ""]),
    started_at=st.sampled_from(
        ["2026-03-02T10:00:00+01:00", "2026-03-02T10:00:00", "9999-01-01T00:00:00Z", "nope"]
    ),
    bytes=TEXT,
    zone=st.sampled_from(["domestic", "roaming", "Domestic", ""]),
    ref=st.sampled_from(["", "r1", "x" * 200, "x" * 201]),
)
def test_the_fast_path_refuses_exactly_the_rows_the_message_path_explains(**values):
    dupont = SimpleNamespace(id=1, pk=1, slug="dupont")
    households = {"dupont": dupont, "martin": None}
    members = {(1, "marie"): SimpleNamespace(pk=7, household_id=1, username="marie")}
    row = imports.Row(2, *values.values())
    usage = imports._parse(row, members, households)
    problems = imports._problems(row, members, households)
    assert (usage is None) == bool(problems)
    if usage is not None:
        assert (usage.bytes, usage.zone, usage.line) == (int(row.bytes), row.zone, 2)


# --- against the reference model ---------------------------------------------------

INSTANTS = st.integers(0, 31 * 24 - 1).map(lambda hours: START + timedelta(hours=hours))
AMOUNTS = st.sampled_from([0, 1, 10, 100, 1000, None])  # None: unlimited


CAPS = [(None, "notify"), (0, "block"), (500, "block"), (500, "notify")]


@st.composite
def grants(draw):
    zone = draw(st.sampled_from(ZONES))
    kinds = ["bonus", "addon", "rollover"] if zone == "domestic" else ["bonus", "addon"]
    valid_from = draw(INSTANTS)
    return {
        "kind": draw(st.sampled_from(kinds)),
        "zone": zone,
        "period": "2026-03",
        "granted": draw(st.sampled_from([1, 50, 500, 5000])),
        "valid_from": valid_from,
        "expires_at": valid_from + timedelta(hours=draw(st.integers(1, 24 * 40))),
    }


@st.composite
def usages(draw):
    return {
        "username": draw(st.sampled_from(["marie", "paul"])),
        "bytes": draw(st.sampled_from([1, 7, 60, 400, 3000])),
        "zone": draw(st.sampled_from(ZONES)),
        "at": draw(INSTANTS),
    }


@settings(max_examples=200, deadline=None)
@given(
    allowance=AMOUNTS,
    roaming=st.sampled_from([0, 10, 100]),
    order=st.sampled_from(["rollover_first", "rollover_last"]),
    caps=st.lists(st.sampled_from(CAPS), min_size=2, max_size=2),
    extra=st.lists(grants(), max_size=6),
    records=st.lists(usages(), min_size=1, max_size=12),
)
def test_draw_cap_room_and_eligibility_agree_with_the_reference_model(
    allowance, roaming, order, caps, extra, records
):
    terms = model.Terms(allowance, roaming, False, 1, None, order)
    members = [
        model.MemberModel(name, cap, action, True)
        for name, (cap, action) in zip(["marie", "paul"], caps, strict=True)
    ]
    household = model.HouseholdModel(
        time_zone="UTC",
        cycle_day=1,
        start_period="2026-03",
        terms=terms,
        members=members,
        grace=timedelta(hours=48),
    )
    household.open_through(model.period_index("2026-03"))
    for fields in extra:
        household._add_bucket(**fields)
    mirror = [
        Bucket(b.seq, b.kind, b.zone, b.valid_from, b.expires_at, b.left) for b in household.buckets
    ]
    covered = {"marie": 0, "paul": 0}
    caps_of = {m.username: (m.cap, m.cap_action) for m in members}
    for n, usage in enumerate(sorted(records, key=lambda u: u["at"])):
        at, zone = usage["at"], usage["zone"]
        expected = household.record_usage(
            usage["username"], bytes=usage["bytes"], zone=zone, at=at, ref=f"r{n}", now=END
        )
        kinds = model.KIND_ORDER[zone, order]
        of_zone = sorted(
            (b for b in mirror if b.zone == zone),
            key=lambda b: (kinds.index(b.kind), b.expires_at, b.valid_from, b.seq),
        )
        room = rules.cap_room(*caps_of[usage["username"]], covered[usage["username"]])
        eligible = {b.seq for b in of_zone if rules.eligible(b, zone=zone, at=at)}
        draws, overage = rules.draw(of_zone, usage["bytes"], at=at, limit=room)

        assert {d.bucket.seq for d in draws} <= eligible
        assert [(d.bucket.seq, d.bytes) for d in draws] == [
            (b.seq, taken) for b, taken in expected.drawn
        ]
        assert overage == expected.overage
        covered[usage["username"]] += usage["bytes"] - overage
        for mine, theirs in zip(mirror, household.buckets, strict=True):
            assert (mine.left_bytes, mine.allocated_bytes) == (theirs.left, theirs.allocated)


@settings(max_examples=200, deadline=None)
@given(
    lefts=st.lists(st.tuples(AMOUNTS, INSTANTS, st.integers(1, 24 * 40)), max_size=6),
    amount=st.integers(1, 3000),
    at=INSTANTS,
    limit=st.one_of(st.none(), st.integers(0, 3000)),
)
def test_draw_at_an_instant_draws_on_the_eligible_buckets_only(lefts, amount, at, limit):
    def buckets():
        return [
            bucket(left, valid_from=start, expires_at=start + timedelta(hours=hours), seq=n)
            for n, (left, start, hours) in enumerate(lefts)
        ]

    given_all, given_eligible = buckets(), buckets()
    eligible = [b for b in given_eligible if rules.eligible(b, zone="domestic", at=at)]
    mine, overage = rules.draw(given_all, amount, at=at, limit=limit)
    theirs, their_overage = rules.draw(eligible, amount, limit=limit)
    assert [(d.bucket.seq, d.bytes) for d in mine] == [(d.bucket.seq, d.bytes) for d in theirs]
    assert overage == their_overage
    assert sum(d.bytes for d in mine) + overage == amount
    assert all(b.left_bytes is None or b.left_bytes >= 0 for b in given_all)


def test_a_record_against_its_household_names_the_first_problem():
    from core.periods import Period

    member = SimpleNamespace(household_id=7, active=True, username="lea")
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)

    def problem(**changes):
        facts = {"member": member, "started_at": at, "period": Period(2026, 3)}
        usage = SimpleNamespace(**{**facts, **changes.pop("usage", {})})
        given = {
            "household_id": 7,
            "slug": "dupont",
            "start": Period(2026, 1),
            "last_closed": Period(2026, 2),
            "now": at,
        }
        return rules.record_problem(usage, **{**given, **changes})

    assert problem() is None
    assert str(problem(household_id=8)) == "member: is not in household dupont (lea)"
    away = SimpleNamespace(household_id=7, active=False, username="lea")
    assert str(problem(usage={"member": away})) == "member: is not active (lea)"
    assert str(problem(now=at - timedelta(minutes=6))) == (
        "started_at: is more than 5 minutes in the future (2026-03-10T12:00:00+00:00)"
    )
    assert problem(now=at - timedelta(minutes=5)) is None
    assert str(problem(start=Period(2026, 4))) == (
        "started_at: is before the household's start period 2026-04 (2026-03-10T12:00:00+00:00)"
    )
    assert str(problem(last_closed=Period(2026, 3))) == (
        "started_at: falls in period 2026-03, which is closed (2026-03-10T12:00:00+00:00)"
    )
    # An inactive member of another household: the household is named first.
    assert problem(household_id=8, usage={"member": away}).reason.startswith("is not in")
