"""SPEC R1: opening a period creates its allowance buckets, in order, never twice."""

from datetime import UTC, datetime

import pytest

from core.periods import Period
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry, PeriodClose, Terms
from tests.factories import GB, MemberFactory, PlanFactory, household_with_plan
from usage.selectors import pool_status
from usage.services import record_usage

pytestmark = pytest.mark.django_db

# Europe/Paris (the factories' zone): 2026-01 starts at 2025-12-31T23:00Z.
JAN_START = datetime(2025, 12, 31, 23, tzinfo=UTC)
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)
MAR_START = datetime(2026, 2, 28, 23, tzinfo=UTC)
APR_START = datetime(2026, 3, 31, 22, tzinfo=UTC)  # summer time from 29 March
MAY_START = datetime(2026, 4, 30, 22, tzinfo=UTC)
APR_10 = datetime(2026, 4, 10, 12, tzinfo=UTC)


def allowances(household, zone="domestic"):
    return list(
        Bucket.objects.filter(household=household, kind="allowance", zone=zone).order_by("pk")
    )


def test_r1_first_touch_opens_every_period_from_the_start_in_order_with_its_terms():
    # Terms: 10 GB from 2026-01, 20 GB (+1 GB roaming) from 2026-02, unlimited from 2026-04.
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    for period, allowance, roaming in (("2026-02", 20 * GB, 1 * GB), ("2026-04", None, 0)):
        plan = PlanFactory(
            household=household,
            name=f"plan {period}",
            monthly_allowance_bytes=allowance,
            roaming_allowance_bytes=roaming,
        )
        Terms.objects.create(household=household, period=period, plan=plan, **plan.term_values())
    assert Bucket.objects.count() == 0

    # The first touch is a usage record in 2026-04: 2026-01..2026-04 open, in order.
    record_usage(MemberFactory(household=household), bytes=1 * GB, at=APR_10, now=APR_10)

    rows = [(b.period, b.granted_bytes, b.valid_from, b.expires_at) for b in allowances(household)]
    assert rows == [
        ("2026-01", 10 * GB, JAN_START, FEB_START),
        ("2026-02", 20 * GB, FEB_START, MAR_START),
        ("2026-03", 20 * GB, MAR_START, APR_START),
        ("2026-04", None, APR_START, MAY_START),
    ]
    roaming = [(b.period, b.granted_bytes) for b in allowances(household, "roaming")]
    assert roaming == [("2026-02", 1 * GB), ("2026-03", 1 * GB)]
    household.refresh_from_db()
    assert household.opened_through == "2026-04"
    # Each bucket has its one grant entry in the ledger.
    grants = LedgerEntry.objects.filter(household=household, kind="grant")
    assert sorted((e.bucket.period, e.bucket.zone, e.bytes) for e in grants) == [
        ("2026-01", "domestic", 10 * GB),
        ("2026-02", "domestic", 20 * GB),
        ("2026-02", "roaming", 1 * GB),
        ("2026-03", "domestic", 20 * GB),
        ("2026-03", "roaming", 1 * GB),
        ("2026-04", "domestic", None),
    ]


@pytest.mark.parametrize(
    ("roaming_bytes", "expected"),
    [(0, []), (1, [1]), (3 * GB, [3 * GB])],
)
def test_r1_roaming_allowance_bucket_only_when_positive(roaming_bytes, expected):
    household = household_with_plan(roaming_allowance_bytes=roaming_bytes)
    plan_services.ensure_open(household, Period(2026, 1))
    roaming = allowances(household, "roaming")
    assert [b.granted_bytes for b in roaming] == expected
    for bucket in roaming:  # valid for exactly 2026-01
        assert (bucket.valid_from, bucket.expires_at, bucket.left_bytes) == (
            JAN_START,
            FEB_START,
            roaming_bytes,
        )
    assert len(allowances(household, "domestic")) == 1


def test_r1_unlimited_allowance_has_no_granted_bytes_and_covers_anything():
    household = household_with_plan(monthly_allowance_bytes=None)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    record = record_usage(MemberFactory(household=household), bytes=10**13, at=at, now=at)
    (bucket,) = allowances(household)
    assert (bucket.granted_bytes, bucket.left_bytes, bucket.allocated_bytes) == (
        None,
        None,
        10**13,
    )
    assert (record.covered_bytes, record.overage_bytes) == (10**13, 0)


def test_r1_opening_twice_creates_nothing_new():
    household = household_with_plan(monthly_allowance_bytes=10 * GB, roaming_allowance_bytes=GB)
    member = MemberFactory(household=household)
    jan_10 = datetime(2026, 1, 10, tzinfo=UTC)
    record_usage(member, bytes=GB, at=jan_10, now=jan_10)  # opens 2026-01
    plan_services.ensure_open(household, Period(2026, 3))  # opens 2026-02 and 2026-03
    counts = (Bucket.objects.count(), LedgerEntry.objects.count())
    assert counts == (6, 7)  # 3 periods x 2 zones; 6 grants + 1 allocation

    plan_services.ensure_open(household, Period(2026, 3))
    plan_services.ensure_open(household, Period(2026, 2))
    plan_services.ensure_open(household, Period(2025, 12))  # before the start period
    pool_status(household, now=datetime(2026, 3, 5, tzinfo=UTC))
    record_usage(member, bytes=GB, at=jan_10, now=jan_10, ref="again")

    assert Bucket.objects.count() == 6
    assert LedgerEntry.objects.count() == 8  # only the new record's allocation
    assert [b.period for b in allowances(household)] == ["2026-01", "2026-02", "2026-03"]


def test_r1_a_read_opens_the_current_period_and_closes_nothing():
    # pool_status at 2026-03-10: 2026-01 and 2026-02 are past their grace, yet a read
    # only opens (2026-01..2026-03) and never closes (R4.6).
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    status = pool_status(household, now=datetime(2026, 3, 10, tzinfo=UTC))

    assert [b.period for b in allowances(household)] == ["2026-01", "2026-02", "2026-03"]
    assert PeriodClose.objects.count() == 0
    assert status["period"] == "2026-03"
    assert status["remaining_bytes"] == {"domestic": 10 * GB, "roaming": 0}
    assert [a["period"] for a in status["awaiting_close"]] == ["2026-01", "2026-02"]


def test_r1_ensure_open_on_its_own_opens_through_the_given_period():
    household = household_with_plan(monthly_allowance_bytes=5 * GB)
    plan_services.ensure_open(household, Period(2026, 2))
    assert [(b.period, b.granted_bytes) for b in allowances(household)] == [
        ("2026-01", 5 * GB),
        ("2026-02", 5 * GB),
    ]
    assert household.opened_through == "2026-02"


def test_r1_next_period_is_open_while_the_previous_awaits_its_close():
    # 2026-02-01 12:00 Paris: 2026-01 ended 11 hours ago and is still in its grace.
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    now = datetime(2026, 2, 1, 11, tzinfo=UTC)
    jan = record_usage(member, bytes=GB, at=datetime(2026, 1, 31, 22, tzinfo=UTC), now=now)
    feb = record_usage(member, bytes=2 * GB, at=now, now=now)

    assert (jan.period, feb.period) == ("2026-01", "2026-02")
    assert PeriodClose.objects.count() == 0
    assert [(b.period, b.left_bytes) for b in allowances(household)] == [
        ("2026-01", 9 * GB),
        ("2026-02", 8 * GB),
    ]
