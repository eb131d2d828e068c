"""Database constraints hold each invariant a constraint can hold: model validation
refuses the bad value (ValidationError) and the database refuses it too (IntegrityError)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Household, Member
from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms
from tests.factories import GB, HouseholdFactory, MemberFactory, UserFactory, household_with_plan
from usage.models import Allocation, UsageRecord

# These tests write raw rows on purpose, outside the services and their ledger.
pytestmark = [pytest.mark.django_db, pytest.mark.ledger_dirty]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def assert_refused_twice(instance, constraint: str, save=None):
    """full_clean names the constraint's error; saving anyway hits the database's."""
    with pytest.raises(ValidationError):
        instance.full_clean()
    with pytest.raises(IntegrityError, match=None), transaction.atomic():
        (save or instance.save)()
    assert constraint in {c.name for c in type(instance)._meta.constraints}


def bucket(household, **fields):
    values = {
        "household": household,
        "kind": "addon",
        "zone": "domestic",
        "period": "2026-01",
        "granted_bytes": GB,
        "left_bytes": GB,
        "valid_from": T0,
        "expires_at": T0 + timedelta(days=30),
    }
    values.update(fields)
    return Bucket(**values)


@pytest.mark.parametrize("cycle_day", [0, 29])
def test_household_cycle_day_1_to_28(cycle_day):
    household = Household(slug="h", name="H", start_period="2026-01", cycle_day=cycle_day)
    assert_refused_twice(household, "household_cycle_day_1_to_28")


def test_household_start_period_key():
    household = Household(slug="h", name="H", start_period="2026-13")
    assert_refused_twice(household, "household_start_period_key")


def test_member_one_active_owner():
    household = HouseholdFactory()
    MemberFactory(household=household, role="owner")
    second = Member(user=UserFactory(), household=household, role="owner")
    assert_refused_twice(second, "member_one_active_owner")
    # An inactive former owner does not count.
    Member.objects.create(user=UserFactory(), household=household, role="owner", active=False)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"role": "king"}, "member_role_valid"),
        ({"cap_action": "shout"}, "member_cap_action_valid"),
        ({"monthly_cap_bytes": 10**13 + 1}, "member_cap_at_most_1e13"),
    ],
)
def test_member_checks(fields, constraint):
    member = Member(user=UserFactory(), household=HouseholdFactory(), **fields)
    assert_refused_twice(member, constraint)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"rollover_months": 0}, "plan_rollover_months_positive"),
        ({"consumption_order": "random"}, "plan_consumption_order_valid"),
        ({"monthly_allowance_bytes": 10**13 + 1}, "plan_amounts_at_most_1e13"),
    ],
)
def test_plan_checks(fields, constraint):
    plan = Plan(household=HouseholdFactory(), name="P", **fields)
    assert_refused_twice(plan, constraint)


def test_terms_one_per_period():
    household = household_with_plan()
    first = Terms.objects.get(household=household)
    again = Terms(household=household, period=first.period, plan=first.plan)
    assert_refused_twice(again, "terms_one_per_period")


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"kind": "gift"}, "bucket_kind_valid"),
        ({"zone": "moon"}, "bucket_zone_valid"),
        ({"expires_at": T0}, "bucket_expires_after_valid_from"),
        ({"left_bytes": GB - 1}, "bucket_balance"),
        ({"granted_bytes": None, "left_bytes": None}, "bucket_balance"),
        ({"granted_bytes": 10**13 + 1, "left_bytes": 10**13 + 1}, "bucket_granted_at_most_1e13"),
        ({"granted_bytes": 0, "left_bytes": 0}, "bucket_grant_positive"),
        (
            {"rolled_out_bytes": 1, "left_bytes": GB - 1},
            "bucket_only_allowance_rolls",
        ),
    ],
)
def test_bucket_checks(fields, constraint):
    assert_refused_twice(bucket(HouseholdFactory(), **fields), constraint)


def test_bucket_left_cannot_go_negative():
    household = HouseholdFactory()
    saved = bucket(household)
    saved.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Bucket.objects.filter(pk=saved.pk).update(left_bytes=-1, allocated_bytes=GB + 1)


def test_one_allowance_per_period_and_zone():
    household = household_with_plan()
    household.buckets.all().delete()
    bucket(household, kind="allowance", granted_bytes=0, left_bytes=0).save()
    again = bucket(household, kind="allowance", granted_bytes=0, left_bytes=0)
    assert_refused_twice(again, "bucket_one_allowance_per_period_zone")


def test_one_rollover_per_period():
    household = HouseholdFactory()
    bucket(household, kind="rollover").save()
    assert_refused_twice(bucket(household, kind="rollover"), "bucket_one_rollover_per_period")


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"kind": "theft"}, "ledgerentry_kind_valid"),
        ({"kind": "expiry", "bytes": None}, "ledgerentry_bytes_required"),
        ({"kind": "allocation", "usage_record_id": None}, "ledgerentry_allocation_has_record"),
    ],
)
def test_ledger_entry_checks(fields, constraint):
    household = HouseholdFactory()
    owner = bucket(household)
    owner.save()
    entry = LedgerEntry(household=household, bucket=owner, at=T0, **{"bytes": 1, **fields})
    assert_refused_twice(entry, constraint)


def test_one_close_per_period():
    household = HouseholdFactory()
    PeriodClose.objects.create(household=household, period="2026-01", unused_bytes=0, closed_at=T0)
    again = PeriodClose(household=household, period="2026-01", unused_bytes=0, closed_at=T0)
    assert_refused_twice(again, "periodclose_one_per_period")


def test_close_rolls_at_most_unused():
    close = PeriodClose(
        household=HouseholdFactory(), period="2026-01", unused_bytes=1, rolled_bytes=2, closed_at=T0
    )
    assert_refused_twice(close, "periodclose_rolled_at_most_unused")


def record(member, **fields):
    values = {
        "household": member.household,
        "member": member,
        "ref": "r1",
        "started_at": T0,
        "period": "2026-01",
        "zone": "domestic",
        "bytes": 10,
        "covered_bytes": 0,
        "overage_bytes": 10,
        "recorded_at": T0,
    }
    values.update(fields)
    return UsageRecord(**values)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"bytes": 0, "overage_bytes": 0}, "usagerecord_bytes_range"),
        ({"bytes": 10**13 + 1, "overage_bytes": 10**13 + 1}, "usagerecord_bytes_range"),
        ({"overage_bytes": 9}, "usagerecord_covered_plus_overage"),
        ({"zone": "moon"}, "usagerecord_zone_valid"),
    ],
)
def test_usage_record_checks(fields, constraint):
    assert_refused_twice(record(MemberFactory(), **fields), constraint)


def test_one_record_per_ref():
    member = MemberFactory()
    record(member).save()
    assert_refused_twice(
        record(member, started_at=T0 + timedelta(hours=1)), "usagerecord_one_per_ref"
    )


def test_allocation_bytes_positive():
    member = MemberFactory()
    saved = record(member)
    saved.save()
    source = bucket(member.household)
    source.save()
    allocation = Allocation(record=saved, bucket=source, bytes=0)
    assert_refused_twice(allocation, "allocation_bytes_positive")
