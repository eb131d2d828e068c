"""SPEC R3: allocation of usage records to buckets."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.services import update_member
from plans.models import Bucket
from plans.services import grant
from tests.factories import GB, MB, MemberFactory, household_with_plan
from usage.services import record_usage

pytestmark = pytest.mark.django_db

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)  # 2026-02-01 00:00 Paris
FEB_5 = datetime(2026, 2, 5, 12, tzinfo=UTC)
FEB_10 = datetime(2026, 2, 10, 12, tzinfo=UTC)


def drawn(record):
    """The record's allocations in draw order: (kind, zone, period, bytes)."""
    return [
        (a.bucket.kind, a.bucket.zone, a.bucket.period, a.bytes)
        for a in record.allocations.select_related("bucket").order_by("pk")
    ]


def use(member, bytes, at, **kwargs):
    return record_usage(member, bytes=bytes, at=at, now=at, **kwargs)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (
            "rollover_first",
            [
                ("rollover", "domestic", "2026-01", 2 * GB),
                ("allowance", "domestic", "2026-02", 10 * GB),
                ("bonus", "domestic", "2026-02", 1 * GB),
                ("addon", "domestic", "2026-02", 500 * MB),
            ],
        ),
        (
            "rollover_last",
            [
                ("allowance", "domestic", "2026-02", 10 * GB),
                ("bonus", "domestic", "2026-02", 1 * GB),
                ("addon", "domestic", "2026-02", 1 * GB),
                ("rollover", "domestic", "2026-01", 1500 * MB),
            ],
        ),
    ],
)
def test_r3_consumption_order_over_all_four_kinds(order, expected):
    # 10 GB plan with rollover: 8 GB used in January -> 2 GB rolled into February.
    # In February: rollover 2 GB, allowance 10 GB, bonus 1 GB, add-on 1 GB = 14 GB;
    # one 13.5 GB record leaves 0.5 GB in the last bucket of the order.
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB, rollover=True, consumption_order=order
    )
    member = MemberFactory(household=household)
    use(member, 8 * GB, JAN_10)
    grant(household, kind="addon", zone="domestic", bytes=GB, now=FEB_5)  # closes January
    grant(household, kind="bonus", zone="domestic", bytes=GB, now=FEB_5)
    assert household.closes.get().rolled_bytes == 2 * GB

    record = use(member, 13500 * MB, FEB_10)

    assert drawn(record) == expected
    assert (record.covered_bytes, record.overage_bytes) == (13500 * MB, 0)
    left = sum(b.left_bytes for b in Bucket.objects.filter(household=household, period="2026-02"))
    rolled_left = Bucket.objects.get(kind="rollover").left_bytes
    assert left + rolled_left == 500 * MB


def test_r3_within_one_kind_soonest_expiry_then_older_grant_then_creation():
    # No allowance (0 bytes); four 1 GB add-ons, all valid on 2026-01-10:
    #   a: granted 01-05, expires 01-25 (soonest expiry)
    #   b: granted 01-03, expires at the period end
    #   c: granted 01-04 08:00, expires at the period end
    #   d: granted 01-04 08:00 too, created after c
    # A 3.5 GB record draws a, b, c in full, then 0.5 GB of d.
    household = household_with_plan(monthly_allowance_bytes=0)
    jan_4 = datetime(2026, 1, 4, 8, tzinfo=UTC)

    def addon(at, **kwargs):
        return grant(household, kind="addon", zone="domestic", bytes=GB, at=at, now=at, **kwargs)

    b = addon(datetime(2026, 1, 3, tzinfo=UTC))
    c = addon(jan_4)
    d = addon(jan_4)
    a = addon(datetime(2026, 1, 5, tzinfo=UTC), expires_at=datetime(2026, 1, 25, tzinfo=UTC))

    record = use(MemberFactory(household=household), 3500 * MB, JAN_10)

    pairs = [(x.bucket_id, x.bytes) for x in record.allocations.order_by("pk")]
    assert pairs == [(a.pk, GB), (b.pk, GB), (c.pk, GB), (d.pk, 500 * MB)]


def test_r3_within_rollover_kind_the_older_rolled_data_goes_first():
    # rollover_months=2: 10 GB plan, 7 GB used in Jan -> 3 GB (valid Feb-Mar);
    # nothing used in Feb -> 10 GB (valid Mar-Apr). A March record draws January's
    # rollover (expires sooner) before February's.
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB, rollover=True, rollover_months=2
    )
    member = MemberFactory(household=household)
    use(member, 7 * GB, JAN_10)
    record = use(member, 4 * GB, datetime(2026, 3, 10, tzinfo=UTC))
    assert drawn(record) == [
        ("rollover", "domestic", "2026-01", 3 * GB),
        ("rollover", "domestic", "2026-02", 1 * GB),
    ]


def test_r3_roaming_draws_only_roaming_buckets_allowance_bonus_addon():
    # Roaming: allowance 1 GB, bonus 1 GB, add-on 1 GB; domestic: 10 GB + 5 GB add-on.
    # A 3.5 GB roaming record: 1 + 1 + 1 covered, 0.5 GB overage; domestic untouched.
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=GB,
        consumption_order="rollover_first",
    )
    grant(household, kind="addon", zone="roaming", bytes=GB, now=JAN_10)
    grant(household, kind="bonus", zone="roaming", bytes=GB, now=JAN_10)
    grant(household, kind="addon", zone="domestic", bytes=5 * GB, now=JAN_10)

    record = use(MemberFactory(household=household), 3500 * MB, JAN_10, zone="roaming")

    assert drawn(record) == [
        ("allowance", "roaming", "2026-01", GB),
        ("bonus", "roaming", "2026-01", GB),
        ("addon", "roaming", "2026-01", GB),
    ]
    assert (record.covered_bytes, record.overage_bytes) == (3 * GB, 500 * MB)
    domestic = Bucket.objects.filter(household=household, zone="domestic")
    assert sorted(b.left_bytes for b in domestic) == [5 * GB, 10 * GB]


def test_r3_domestic_usage_never_draws_roaming_buckets():
    household = household_with_plan(monthly_allowance_bytes=GB, roaming_allowance_bytes=5 * GB)
    record = use(MemberFactory(household=household), 3 * GB, JAN_10)
    assert drawn(record) == [("allowance", "domestic", "2026-01", GB)]
    assert record.overage_bytes == 2 * GB
    assert Bucket.objects.get(zone="roaming").left_bytes == 5 * GB


def test_r3_block_cap_limits_what_the_pool_covers():
    # Cap 5 GB (block). 3 GB domestic + 1 GB roaming covered = 4 GB; the next 3 GB
    # record: 1 GB covered, 2 GB overage; then nothing more is covered in January.
    # In February the cap starts again.
    household = household_with_plan(monthly_allowance_bytes=100 * GB, roaming_allowance_bytes=GB)
    member = MemberFactory(household=household, monthly_cap_bytes=5 * GB, cap_action="block")
    other = MemberFactory(household=household)
    use(member, 3 * GB, JAN_10)
    use(member, GB, JAN_10, zone="roaming")
    use(other, 20 * GB, JAN_10)  # another member's usage does not count

    third = use(member, 3 * GB, JAN_10 + timedelta(hours=1))
    assert (third.covered_bytes, third.overage_bytes) == (GB, 2 * GB)
    assert drawn(third) == [("allowance", "domestic", "2026-01", GB)]

    fourth = use(member, 1, JAN_10 + timedelta(hours=2))
    assert (fourth.covered_bytes, fourth.overage_bytes, drawn(fourth)) == (0, 1, [])

    february = use(member, 6 * GB, FEB_10)
    assert (february.covered_bytes, february.overage_bytes) == (5 * GB, GB)


def test_r3_cap_of_zero_blocks_the_line():
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household, monthly_cap_bytes=0, cap_action="block")
    record = use(member, GB, JAN_10)
    assert (record.covered_bytes, record.overage_bytes, drawn(record)) == (0, GB, [])
    assert Bucket.objects.get().left_bytes == 10 * GB


def test_r3_cap_set_mid_period_counts_what_was_already_covered():
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    use(member, 4 * GB, JAN_10)
    update_member(member, monthly_cap_bytes=5 * GB, cap_action="block")
    record = use(member, 2 * GB, JAN_10 + timedelta(hours=1))
    assert (record.covered_bytes, record.overage_bytes) == (GB, GB)


def test_r3_notify_cap_limits_nothing():
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household, monthly_cap_bytes=GB, cap_action="notify")
    record = use(member, 3 * GB, JAN_10)
    assert (record.covered_bytes, record.overage_bytes) == (3 * GB, 0)


def test_r3_unlimited_allowance_covers_anything():
    household = household_with_plan(monthly_allowance_bytes=None)
    member = MemberFactory(household=household)
    records = [use(member, 10**13, JAN_10 + timedelta(minutes=i)) for i in range(3)]
    assert [(r.covered_bytes, r.overage_bytes) for r in records] == [(10**13, 0)] * 3
    bucket = Bucket.objects.get()
    assert (bucket.left_bytes, bucket.allocated_bytes) == (None, 3 * 10**13)


def test_r3_overage_when_the_pool_is_empty():
    # 10 GB plan: 12 GB -> 10 covered, 2 overage; then 1 GB -> all overage.
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    first = use(member, 12 * GB, JAN_10)
    second = use(member, GB, JAN_10 + timedelta(hours=1))
    assert (first.covered_bytes, first.overage_bytes) == (10 * GB, 2 * GB)
    assert (second.covered_bytes, second.overage_bytes, drawn(second)) == (0, GB, [])
    assert Bucket.objects.get().left_bytes == 0


def test_r3_an_addon_granted_after_an_overage_does_not_cover_it():
    # 10 GB plan, 12 GB on 01-10 -> 2 GB overage. A 5 GB add-on granted afterwards,
    # even backdated to 01-05, leaves that overage alone; the next record uses it.
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    over = use(member, 12 * GB, JAN_10)
    addon = grant(
        household,
        kind="addon",
        zone="domestic",
        bytes=5 * GB,
        at=datetime(2026, 1, 5, tzinfo=UTC),
        now=JAN_10 + timedelta(hours=1),
    )
    over.refresh_from_db()
    addon.refresh_from_db()
    assert (over.covered_bytes, over.overage_bytes) == (10 * GB, 2 * GB)
    assert addon.left_bytes == 5 * GB

    later = use(member, GB, JAN_10 + timedelta(hours=2))
    assert drawn(later) == [("addon", "domestic", "2026-01", GB)]


def test_r3_usage_at_a_period_boundary_draws_the_right_allowance():
    # Paris: 2026-01 ends at 2026-01-31T23:00Z. 22:59:59Z is January's last second,
    # 23:00:00Z February's first. January is still in its grace, so nothing closes.
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    now = datetime(2026, 2, 1, 12, tzinfo=UTC)
    last = record_usage(member, bytes=GB, at=FEB_START - timedelta(seconds=1), now=now)
    first = record_usage(member, bytes=2 * GB, at=FEB_START, now=now)
    assert (last.period, drawn(last)) == ("2026-01", [("allowance", "domestic", "2026-01", GB)])
    assert (first.period, drawn(first)) == (
        "2026-02",
        [("allowance", "domestic", "2026-02", 2 * GB)],
    )


def test_r3_an_expired_pack_is_not_eligible():
    # A 1 GB add-on valid 01-05..01-08; a record on 01-10 draws the allowance only.
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    grant(
        household,
        kind="addon",
        zone="domestic",
        bytes=GB,
        at=datetime(2026, 1, 5, tzinfo=UTC),
        expires_at=datetime(2026, 1, 8, tzinfo=UTC),
        now=datetime(2026, 1, 5, tzinfo=UTC),
    )
    record = use(MemberFactory(household=household), 2 * GB, JAN_10, ref="r")
    assert drawn(record) == [("allowance", "domestic", "2026-01", 2 * GB)]
