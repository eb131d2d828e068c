"""SPEC R5: validation of usage records (and a grant's ``at``)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from accounts.services import update_member
from core.errors import Refused
from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.services import close_periods
from tests.factories import GB, MemberFactory, household_with_plan
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db

JAN_10 = datetime(2026, 1, 10, 11, tzinfo=UTC)
# On 2026-03-10 2026-01 and 2026-02 are past their grace: an accepted write would
# close them, a refused one must not.
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def counts():
    return tuple(m.objects.count() for m in (UsageRecord, Bucket, LedgerEntry, PeriodClose))


@pytest.fixture
def member():
    """A 10 GB household (Paris, from 2026-01) with record r-1: 1 GB on 2026-01-10."""
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    member = MemberFactory(household=household, user__username="alice")
    record_usage(member, bytes=GB, at=JAN_10, ref="r-1", now=JAN_10)
    return member


def assert_refused(call, field, value):
    """``call`` is refused with ``field: ... (value)`` and changes nothing."""
    before = counts()
    with pytest.raises(Refused) as refused:
        call()
    message = str(refused.value)
    assert message.startswith(f"{field}: "), message
    assert f"({value})" in message, message
    assert counts() == before
    return message


@pytest.mark.parametrize(
    "change",
    [
        {"bytes": 2 * GB},
        {"zone": "roaming"},
        {"at": JAN_10 + timedelta(seconds=1)},
        {"at": JAN_10 + timedelta(microseconds=1)},
        {"other_member": True},
    ],
    ids=["bytes", "zone", "instant", "microsecond", "member"],
)
def test_r5_a_ref_recorded_with_different_content_is_refused(member, change):
    kwargs = {"bytes": GB, "zone": "domestic", "at": JAN_10, "ref": "r-1", "now": NOW}
    who = member
    if change.pop("other_member", False):
        who = MemberFactory(household=member.household)
    kwargs.update(change)
    message = assert_refused(lambda: record_usage(who, **kwargs), "ref", "r-1")
    assert message == "ref: was already recorded with different content (r-1)"


@pytest.mark.parametrize(
    "at",
    [
        JAN_10,
        datetime(2026, 1, 10, 12, tzinfo=timezone(timedelta(hours=1))),  # Paris offset
        datetime(2026, 1, 10, 19, 30, tzinfo=timezone(timedelta(hours=8, minutes=30))),
        datetime(2026, 1, 10, 12),  # no offset: read in Europe/Paris
    ],
    ids=["utc", "plus-1", "plus-8h30", "naive-paris"],
)
def test_r5_same_ref_same_content_is_a_no_op_returning_the_record(member, at):
    original = UsageRecord.objects.get(ref="r-1")
    before = counts()
    replay = record_usage(member, bytes=GB, at=at, ref="r-1", now=NOW)
    assert (replay.pk, replay.replayed) == (original.pk, True)
    assert (replay.bytes, replay.covered_bytes, replay.started_at) == (GB, GB, JAN_10)
    assert counts() == before


def test_r5_replay_is_a_no_op_even_after_its_period_closed(member):
    close_periods(now=NOW)
    assert list(PeriodClose.objects.values_list("period", flat=True).order_by("period")) == [
        "2026-01",
        "2026-02",
    ]
    before = counts()
    replay = record_usage(member, bytes=GB, at=JAN_10, ref="r-1", now=NOW)
    assert (replay.ref, replay.replayed, replay.period) == ("r-1", True, "2026-01")
    assert counts() == before
    # A different content under that ref is still refused, naming the ref.
    assert_refused(
        lambda: record_usage(member, bytes=3 * GB, at=JAN_10, ref="r-1", now=NOW), "ref", "r-1"
    )


def test_r5_replay_without_ref_is_recognised_by_its_content(member):
    first = record_usage(member, bytes=5, at=JAN_10, now=JAN_10)
    new_york = JAN_10.astimezone(timezone(timedelta(hours=-5)))  # 06:00 -05:00
    again = record_usage(member, bytes=5, at=new_york, now=NOW)
    assert (again.pk, again.replayed) == (first.pk, True)
    assert PeriodClose.objects.count() == 0


@pytest.mark.parametrize("size", [0, -1, 10**13 + 1, 1.5, 1.0, True, False, "1000"])
def test_r5_bytes_out_of_range_or_not_whole_are_refused(member, size):
    assert_refused(lambda: record_usage(member, bytes=size, at=NOW, now=NOW), "bytes", size)


@pytest.mark.parametrize("size", [1, 10**13])
def test_r5_bytes_at_the_bounds_are_accepted(member, size):
    record = record_usage(member, bytes=size, at=NOW, now=NOW)
    assert record.bytes == size


@pytest.mark.parametrize("zone", ["moon", "Domestic", ""])
def test_r5_unknown_zone_is_refused(member, zone):
    assert_refused(lambda: record_usage(member, bytes=GB, zone=zone, at=NOW, now=NOW), "zone", zone)


def test_r5_more_than_five_minutes_in_the_future_is_refused(member):
    at = NOW + timedelta(minutes=5, seconds=1)
    message = assert_refused(
        lambda: record_usage(member, bytes=GB, at=at, now=NOW), "started_at", at.isoformat()
    )
    assert "future" in message


def test_r5_exactly_five_minutes_in_the_future_is_accepted(member):
    record = record_usage(member, bytes=GB, at=NOW + timedelta(minutes=5), now=NOW)
    assert record.started_at == NOW + timedelta(minutes=5)


def test_r5_before_the_start_period_is_refused(member):
    # 2025-12-31 23:59:59 in Paris, one second before 2026-01 starts.
    at = datetime(2025, 12, 31, 22, 59, 59, tzinfo=UTC)
    message = assert_refused(
        lambda: record_usage(member, bytes=GB, at=at, now=NOW), "started_at", at.isoformat()
    )
    assert "2026-01" in message
    first = record_usage(member, bytes=GB, at=at + timedelta(seconds=1), now=NOW)
    assert first.period == "2026-01"


def test_r5_a_record_in_a_closed_period_is_refused(member):
    close_periods(now=datetime(2026, 2, 3, tzinfo=UTC))  # closes 2026-01 only
    at = datetime(2026, 1, 31, 22, 59, 59, tzinfo=UTC)  # January's last second in Paris
    message = assert_refused(
        lambda: record_usage(member, bytes=GB, at=at, now=NOW), "started_at", at.isoformat()
    )
    assert message == f"started_at: falls in period 2026-01, which is closed ({at.isoformat()})"
    # February is not closed (though due at NOW): a record there is accepted.
    feb = record_usage(member, bytes=GB, at=at + timedelta(seconds=1), now=NOW)
    assert feb.period == "2026-02"


def test_r5_an_inactive_member_is_refused(member):
    update_member(member, active=False)
    message = assert_refused(
        lambda: record_usage(member, bytes=GB, at=NOW, now=NOW), "member", "alice"
    )
    assert "active" in message


def test_r5_a_member_deactivated_elsewhere_is_refused(member):
    # The member object in hand is stale: another request deactivated the member.
    stale = member
    update_member(type(member).objects.get(pk=member.pk), active=False)
    assert stale.active is True
    assert_refused(lambda: record_usage(stale, bytes=GB, at=NOW, now=NOW), "member", "alice")


@pytest.mark.parametrize("at", ["2026-03-10T12:00:00+00:00", 1773144000])
def test_r5_an_instant_that_is_not_a_datetime_is_refused(member, at):
    assert_refused(lambda: record_usage(member, bytes=GB, at=at, now=NOW), "started_at", at)
