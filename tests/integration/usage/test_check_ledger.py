"""check_ledger finds each kind of broken invariant (SPEC R6) and exits 1 listing it."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.services import close_periods, grant
from tests.factories import GB, MemberFactory, household_with_plan
from usage.ledger import find_violations
from usage.models import Allocation, UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db

JAN_10 = datetime(2026, 1, 10, tzinfo=UTC)
MAR_5 = datetime(2026, 3, 5, tzinfo=UTC)


@pytest.fixture
def member():
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB, roaming_allowance_bytes=GB, rollover=True
    )
    member = MemberFactory(household=household)
    record_usage(member, bytes=4 * GB, at=JAN_10, now=JAN_10, ref="jan")
    grant(household, kind="addon", zone="domestic", bytes=GB, now=JAN_10)
    return member


def test_clean_database_passes(member):
    close_periods(now=MAR_5)
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "every invariant holds" in out.getvalue()
    assert find_violations() == []


def check_fails(*fragments):
    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_ledger", stderr=err)
    assert raised.value.returncode == 1
    listing = err.getvalue()
    for fragment in fragments:
        assert fragment in listing
    return listing


@pytest.mark.ledger_dirty
def test_balance_moved_without_ledger_entry(member):
    allowance = Bucket.objects.get(kind="allowance", zone="domestic", period="2026-01")
    Bucket.objects.filter(pk=allowance.pk).update(
        allocated_bytes=F("allocated_bytes") + 1, left_bytes=F("left_bytes") - 1
    )
    listing = check_fails(f"bucket #{allowance.pk}", "allocated_bytes equals its allocation")
    assert f"expected {4 * GB}, found {4 * GB + 1}" in listing


@pytest.mark.ledger_dirty
def test_missing_ledger_entry(member):
    LedgerEntry.objects.filter(kind="allocation").delete()
    check_fails("record jan: allocation ledger entries equal its allocations")


@pytest.mark.ledger_dirty
def test_record_not_fully_allocated(member):
    UsageRecord.objects.filter(ref="jan").update(covered_bytes=3 * GB, overage_bytes=GB)
    check_fails("record jan: bytes = sum of allocations + overage")


@pytest.mark.ledger_dirty
def test_allocation_from_a_bucket_of_another_zone(member):
    roaming = Bucket.objects.get(zone="roaming", period="2026-01")
    Allocation.objects.filter(record__ref="jan").update(bucket=roaming)
    check_fails("record jan: allocation from a valid domestic bucket")


@pytest.mark.ledger_dirty
def test_rollover_bucket_differs_from_rolled_bytes(member):
    close_periods(now=MAR_5)
    PeriodClose.objects.filter(period="2026-01").update(rolled_bytes=GB)
    check_fails("close 2026-01: rollover bucket equals rolled bytes: expected 1000000000")


@pytest.mark.ledger_dirty
def test_closes_must_be_contiguous(member):
    close_periods(now=MAR_5)
    PeriodClose.objects.filter(period="2026-01").update(period="2025-12")
    check_fails("closes: contiguous from the start period")


@pytest.mark.ledger_dirty
def test_record_in_the_wrong_period(member):
    UsageRecord.objects.filter(ref="jan").update(period="2026-02")
    check_fails("record jan: period contains started_at: expected 2026-01, found 2026-02")
