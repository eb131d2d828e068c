"""SPEC §1: the calendar is fixed once bytes moved, marked on the household by each
write that moves them (usage, a grant, a close), and by the migration for old rows."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps

from accounts.models import Household
from core.errors import Refused
from core.periods import Period
from plans.models import Bucket, PeriodClose
from plans.services import change_calendar, close_periods, grant
from tests.factories import GB, MemberFactory, household_with_plan
from usage.selectors import pool_status
from usage.services import Row, import_usage, record_usage

pytestmark = pytest.mark.django_db

MAR_15 = datetime(2026, 3, 15, 12, tzinfo=UTC)
migration = importlib.import_module("accounts.migrations.0002_household_calendar_fixed")


def fixed(household: Household) -> bool:
    household.refresh_from_db()
    return household.calendar_fixed


@pytest.fixture
def household():
    return household_with_plan(monthly_allowance_bytes=10 * GB)


def test_a_new_household_can_change_its_calendar(household):
    assert not fixed(household)


def test_recording_usage_fixes_the_calendar(household):
    member = MemberFactory(household=household)
    record_usage(member, bytes=1 * GB, at=MAR_15, now=MAR_15)
    assert fixed(household)


def test_importing_usage_fixes_the_calendar(household):
    member = MemberFactory(household=household, user__username="paul")
    rows = [Row(2, household.slug, "paul", MAR_15.isoformat(), "1000", "domestic", "r1")]
    import_usage(rows, now=MAR_15)
    assert member.usage.count() == 1
    assert fixed(household)


def test_a_grant_fixes_the_calendar(household):
    grant(household, kind="bonus", zone="domestic", bytes=1 * GB, at=MAR_15, now=MAR_15)
    assert fixed(household)


def test_a_period_close_fixes_the_calendar(household):
    close_periods(household=household, through=Period(2026, 1), now=MAR_15)
    assert PeriodClose.objects.filter(household=household).exists()
    assert fixed(household)


def test_a_dry_run_close_leaves_the_calendar_free(household):
    close_periods(household=household, through=Period(2026, 1), now=MAR_15, dry_run=True)
    assert not fixed(household)


def test_a_status_read_opens_periods_and_leaves_the_calendar_free(household):
    pool_status(household, now=MAR_15)
    assert Bucket.objects.filter(household=household, kind="allowance").count() == 3
    assert not fixed(household)
    change_calendar(household, cycle_day=10)
    household.refresh_from_db()
    assert (household.cycle_day, household.opened_through) == (10, "")


def test_a_fixed_calendar_refuses_a_change(household):
    Household.objects.filter(pk=household.pk).update(calendar_fixed=True)
    with pytest.raises(Refused) as refused:
        change_calendar(household, time_zone="Asia/Tokyo")
    assert str(refused.value) == (
        "time_zone: cannot change once the household has usage or grants (Asia/Tokyo)"
    )


def test_the_migration_fixes_households_whose_bytes_moved():
    used, granted, closed, read, empty = (
        household_with_plan(monthly_allowance_bytes=10 * GB) for _ in range(5)
    )
    record_usage(MemberFactory(household=used), bytes=1, at=MAR_15, now=MAR_15)
    grant(granted, kind="addon", zone="roaming", bytes=1, at=MAR_15, now=MAR_15)
    close_periods(household=closed, through=Period(2026, 1), now=MAR_15)
    pool_status(read, now=MAR_15)  # opened allowances only
    Household.objects.update(calendar_fixed=False)  # as before the field existed

    migration.fix_calendars(apps, None)

    assert [fixed(h) for h in (used, granted, closed, read, empty)] == [
        True,
        True,
        True,
        False,
        False,
    ]
