from datetime import UTC, datetime

import pytest

from tests.factories import GB, MemberFactory, household_with_plan
from usage.services import record_usage

pytestmark = pytest.mark.django_db


def test_usage_is_drawn_from_the_allowance():
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    record = record_usage(member, bytes=7 * GB, at=at, now=at)
    assert (record.covered_bytes, record.overage_bytes) == (7 * GB, 0)
    assert household.buckets.get(kind="allowance").left_bytes == 3 * GB
