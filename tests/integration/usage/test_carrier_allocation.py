"""SPEC R7, R10 and R12 at allocation: any consumption order, roaming from the domestic
pool within each member's fair-use volume, and a record's uncovered figures."""

from datetime import UTC, datetime

import pytest

from plans.models import Bucket, Terms
from plans.services import grant
from tests.factories import GB, MB, MemberFactory, household_with_plan
from usage.ledger import find_violations
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
FEB_5 = datetime(2026, 2, 5, 12, tzinfo=UTC)
FEB_10 = datetime(2026, 2, 10, 12, tzinfo=UTC)
FEB_11 = datetime(2026, 2, 11, 12, tzinfo=UTC)


def drawn(record):
    """The record's allocations in draw order: (kind, zone, bytes)."""
    return [
        (a.bucket.kind, a.bucket.zone, a.bytes)
        for a in record.allocations.select_related("bucket").order_by("pk")
    ]


def use(member, bytes, at, zone="domestic"):
    return record_usage(member, bytes=bytes, at=at, now=at, zone=zone)


def figures(record):
    """covered, overage, from_domestic, capped, beyond fair use."""
    return (
        record.covered_bytes,
        record.overage_bytes,
        record.from_domestic_bytes,
        record.capped_bytes,
        record.beyond_fair_use_bytes,
    )


def test_r7_a_custom_order_over_all_four_kinds():
    # 10 GB plan with rollover, packs and gifts first, the bank last: 8 GB used in
    # January -> 2 GB rolled into February. In February: bonus 1 GB, add-on 1 GB,
    # allowance 10 GB, rollover 2 GB = 14 GB; 13.5 GB leaves 0.5 GB in the rollover.
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=GB,
        rollover=True,
        consumption_order="bonus,addon,allowance,rollover",
    )
    member = MemberFactory(household=household)
    use(member, 8 * GB, JAN_10)
    grant(household, kind="addon", zone="domestic", bytes=GB, now=FEB_5)  # closes January
    grant(household, kind="bonus", zone="domestic", bytes=GB, now=FEB_5)
    grant(household, kind="addon", zone="roaming", bytes=GB, now=FEB_5)
    grant(household, kind="bonus", zone="roaming", bytes=GB, now=FEB_5)

    record = use(member, 13500 * MB, FEB_10)
    roaming = use(member, 2500 * MB, FEB_10, zone="roaming")

    assert drawn(record) == [
        ("bonus", "domestic", GB),
        ("addon", "domestic", GB),
        ("allowance", "domestic", 10 * GB),
        ("rollover", "domestic", 1500 * MB),
    ]
    # Roaming: the same order without rollover: bonus, add-on, then the allowance.
    assert drawn(roaming) == [
        ("bonus", "roaming", GB),
        ("addon", "roaming", GB),
        ("allowance", "roaming", 500 * MB),
    ]
    assert Bucket.objects.get(kind="rollover").left_bytes == 500 * MB
    assert find_violations() == []


def test_r10_fair_use_is_each_members_and_a_block_cap_counts_every_zone():
    # 20 GB domestic, no roaming allowance, roam like at home with 3 GB of fair use.
    household = household_with_plan(
        monthly_allowance_bytes=20 * GB,
        roaming_allowance_bytes=0,
        roaming_mode="from_domestic",
        roaming_fair_use_bytes=3 * GB,
    )
    ann = MemberFactory(household=household)
    bob = MemberFactory(household=household, monthly_cap_bytes=4 * GB, cap_action="block")

    first = use(ann, 2 * GB, FEB_10, zone="roaming")
    second = use(ann, 2 * GB, FEB_11, zone="roaming")
    # Ann's fair use is spent (3 GB): 1 GB of her second record is beyond it.
    assert figures(first) == (2 * GB, 0, 2 * GB, 0, 0)
    assert figures(second) == (GB, GB, GB, 0, GB)
    assert drawn(second) == [("allowance", "domestic", GB)]

    grant(household, kind="addon", zone="roaming", bytes=500 * MB, now=FEB_10)
    use(bob, GB, FEB_11)  # domestic: 3 GB of Bob's 4 GB cap remain
    # Bob roams 4 GB: the cap lets 3 GB through (1 GB stopped by the cap); the roaming
    # pack covers 500 MB, his own fair use the other 2.5 GB from the domestic pool.
    trip = use(bob, 4 * GB, FEB_11, zone="roaming")
    assert figures(trip) == (3 * GB, GB, 2500 * MB, GB, 0)
    assert drawn(trip) == [("addon", "roaming", 500 * MB), ("allowance", "domestic", 2500 * MB)]
    # The cap is reached in every zone: nothing more is covered.
    assert figures(use(bob, 2 * GB, FEB_11, zone="roaming")) == (0, 2 * GB, 0, 2 * GB, 0)
    # Ann's domestic usage is not limited by her fair use.
    assert figures(use(ann, GB, FEB_11)) == (GB, 0, 0, 0, 0)

    allowance = Bucket.objects.get(kind="allowance", zone="domestic", period="2026-02")
    assert allowance.left_bytes == 20 * GB - 2 * GB - GB - GB - 2500 * MB - GB
    assert find_violations() == []


def test_r10_without_a_fair_use_volume_roaming_draws_the_whole_domestic_pool():
    household = household_with_plan(
        monthly_allowance_bytes=5 * GB, roaming_allowance_bytes=GB, roaming_mode="from_domestic"
    )
    member = MemberFactory(household=household)
    # The roaming allowance first, then the domestic pool; what finds it empty is
    # overage of neither kind (R12).
    record = use(member, 7 * GB, FEB_10, zone="roaming")
    assert drawn(record) == [("allowance", "roaming", GB), ("allowance", "domestic", 5 * GB)]
    assert figures(record) == (6 * GB, GB, 5 * GB, 0, 0)
    assert find_violations() == []


def test_r10_separate_roaming_never_draws_domestic_data():
    household = household_with_plan(monthly_allowance_bytes=5 * GB, roaming_allowance_bytes=GB)
    member = MemberFactory(household=household)
    record = use(member, 2 * GB, FEB_10, zone="roaming")
    assert figures(record) == (GB, GB, 0, 0, 0)


def test_r9_a_forfeited_bucket_is_never_eligible():
    household = household_with_plan(
        monthly_allowance_bytes=GB, consumption_order="bonus,addon,allowance,rollover"
    )
    member = MemberFactory(household=household)
    grant(household, kind="bonus", zone="domestic", bytes=GB, now=FEB_5)
    Bucket.objects.filter(kind="bonus").update(forfeited=True)
    record = use(member, 500 * MB, FEB_10)
    assert drawn(record) == [("allowance", "domestic", 500 * MB)]


# --- R6: check_ledger keeps R10 ----------------------------------------------------


def roaming_household(**terms):
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=0,
        roaming_mode="from_domestic",
        roaming_fair_use_bytes=3 * GB,
        **terms,
    )
    return household, MemberFactory(household=household)


@pytest.mark.ledger_dirty
def test_r6_from_domestic_bytes_must_equal_the_domestic_allocations():
    _, member = roaming_household()
    record = use(member, 2 * GB, FEB_10, zone="roaming")
    UsageRecord.objects.filter(pk=record.pk).update(from_domestic_bytes=GB)
    [violation] = find_violations()
    assert "from_domestic_bytes equals its allocations from domestic buckets" in str(violation)


@pytest.mark.ledger_dirty
def test_r6_roaming_beyond_the_fair_use_volume_and_domestic_data_under_separate():
    household, member = roaming_household()
    use(member, 3 * GB, FEB_10, zone="roaming")
    Terms.objects.filter(household=household).update(roaming_fair_use_bytes=2 * GB)
    [violation] = find_violations()
    assert "domestic bytes drawn by roaming <= the fair-use volume" in str(violation)
    Terms.objects.filter(household=household).update(
        roaming_mode="separate", roaming_fair_use_bytes=None
    )
    [violation] = find_violations()
    assert "allocation from a valid roaming bucket" in str(violation)
