"""SPEC R7, R10 and R12 at allocation, without a database, and against the reference model."""

from __future__ import annotations

from datetime import timedelta
from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from plans.rules import draw_order
from tests import reference_model as model
from tests.unit.test_usage_rules import (
    AMOUNTS,
    CAPS,
    END,
    START,
    Bucket,
    bucket,
    grants,
    usages,
)
from usage import rules

ORDERS = st.sampled_from(
    [
        "rollover_first",
        "rollover_last",
        *(",".join(p) for p in permutations(model.NAMED_ORDERS["rollover_first"])),
    ]
)


def test_fair_use_room_is_each_members_volume_less_what_they_drew():
    assert rules.fair_use_room(None, 5) is None
    assert rules.fair_use_room(3000, 1000) == 2000
    assert rules.fair_use_room(3000, 4000) == 0
    assert rules.fair_use_room(0, 0) == 0


def test_capped_bytes_are_what_a_block_cap_refused():
    assert rules.capped_bytes(500, None) == 0
    assert rules.capped_bytes(500, 800) == 0
    assert rules.capped_bytes(500, 200) == 300
    assert rules.capped_bytes(500, 0) == 500


def test_draw_from_domestic_cap_first_then_roaming_then_fair_use():
    # A 500-byte roaming record, a cap room of 400, a roaming pack of 100 and a
    # fair-use room of 200: 100 capped, 100 from the pack, 200 from the domestic
    # pool, 100 beyond fair use. Overage 200 = 100 capped + 100 beyond fair use.
    roaming = [bucket(100, zone="roaming", seq=1)]
    domestic = [bucket(1000, seq=2)]
    at = START + timedelta(days=1)
    result = rules.draw_from_domestic(roaming, domestic, 500, at=at, limit=400, fair_use=200)
    assert [(d.bucket.seq, d.bytes) for d in result.draws] == [(1, 100), (2, 200)]
    assert (result.overage, result.from_domestic, result.beyond_fair_use) == (200, 200, 100)
    assert rules.capped_bytes(500, 400) == 100
    # The pool empty: what it did not cover is overage of neither reason.
    empty = rules.draw_from_domestic([], [bucket(50)], 300, at=at)
    assert (empty.overage, empty.from_domestic, empty.beyond_fair_use) == (250, 50, 0)


def test_a_forfeited_bucket_is_not_eligible():
    forfeited = bucket()
    forfeited.forfeited = True
    assert not rules.eligible(forfeited, zone="domestic", at=START)


@settings(max_examples=200, deadline=None)
@given(
    allowance=AMOUNTS,
    roaming=st.sampled_from([0, 10, 100]),
    order=ORDERS,
    mode=st.sampled_from(["separate", "from_domestic"]),
    fair_use=st.sampled_from([None, 0, 50, 500]),
    caps=st.lists(st.sampled_from(CAPS), min_size=2, max_size=2),
    extra=st.lists(grants(), max_size=6),
    records=st.lists(usages(), min_size=1, max_size=12),
)
def test_any_order_roaming_from_domestic_and_the_figures_agree_with_the_model(
    allowance, roaming, order, mode, fair_use, caps, extra, records
):
    fair_use = fair_use if mode == "from_domestic" else None
    terms = model.Terms(
        allowance,
        roaming,
        False,
        1,
        None,
        order.split(",") if "," in order else order,
        roaming_mode=mode,
        fair_use=fair_use,
    )
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
    for b in mirror:
        b.pk = b.seq
    ordered = {
        zone: draw_order([b for b in mirror if b.zone == zone], consumption_order=order, zone=zone)
        for zone in ("domestic", "roaming")
    }
    covered = {"marie": 0, "paul": 0}
    drawn_abroad = {"marie": 0, "paul": 0}
    caps_of = {m.username: (m.cap, m.cap_action) for m in members}
    for n, usage in enumerate(sorted(records, key=lambda u: u["at"])):
        at, zone, name, amount = usage["at"], usage["zone"], usage["username"], usage["bytes"]
        expected = household.record_usage(
            name, bytes=amount, zone=zone, at=at, ref=f"r{n}", now=END
        )
        room = rules.cap_room(*caps_of[name], covered[name])
        if zone == "roaming" and mode == "from_domestic":
            fair = rules.fair_use_room(fair_use, drawn_abroad[name])
            draws, overage, from_domestic, beyond = rules.draw_from_domestic(
                ordered["roaming"], ordered["domestic"], amount, at=at, limit=room, fair_use=fair
            )
        else:
            draws, overage = rules.draw(ordered[zone], amount, at=at, limit=room)
            from_domestic = beyond = 0

        assert [(d.bucket.seq, d.bytes) for d in draws] == [
            (b.seq, taken) for b, taken in expected.drawn
        ]
        assert (overage, from_domestic, rules.capped_bytes(amount, room), beyond) == (
            expected.overage,
            expected.from_domestic,
            expected.capped,
            expected.beyond_fair_use,
        )
        assert expected.capped + expected.beyond_fair_use <= expected.overage
        covered[name] += amount - overage
        drawn_abroad[name] += from_domestic
        for mine, theirs in zip(mirror, household.buckets, strict=True):
            assert (mine.left_bytes, mine.allocated_bytes) == (theirs.left, theirs.allocated)
