"""SPEC R2: add-on packs and bonuses."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import Refused
from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.services import close_periods, grant
from tests.factories import GB, MemberFactory, household_with_plan
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)  # 2026-02-01 00:00 Paris
MAR_START = datetime(2026, 2, 28, 23, tzinfo=UTC)  # 2026-03-01 00:00 Paris
JAN_CLOSE = FEB_START + timedelta(hours=48)  # grace of 2026-01 over


def counts():
    return tuple(m.objects.count() for m in (UsageRecord, Bucket, LedgerEntry, PeriodClose))


@pytest.mark.parametrize("kind", ["addon", "bonus"])
@pytest.mark.parametrize("zone", ["domestic", "roaming"])
def test_r2_default_expiry_is_the_end_of_the_period_containing_valid_from(kind, zone):
    household = household_with_plan()
    bucket = grant(household, kind=kind, zone=zone, bytes=2 * GB, now=JAN_10)
    assert (bucket.kind, bucket.zone, bucket.period) == (kind, zone, "2026-01")
    assert (bucket.valid_from, bucket.expires_at) == (JAN_10, FEB_START)
    assert (bucket.granted_bytes, bucket.left_bytes) == (2 * GB, 2 * GB)
    entry = LedgerEntry.objects.get(bucket=bucket)
    assert (entry.kind, entry.bytes, entry.at) == ("grant", 2 * GB, JAN_10)


def test_r2_given_expiry_is_kept_even_beyond_the_period():
    household = household_with_plan()
    expires = datetime(2026, 3, 15, tzinfo=PARIS)
    bucket = grant(
        household, kind="addon", zone="domestic", bytes=GB, expires_at=expires, now=JAN_10
    )
    bucket.refresh_from_db()
    assert (bucket.valid_from, bucket.expires_at) == (JAN_10, expires)
    assert bucket.period == "2026-01"


def test_r2_scheduled_promotion_starts_at_its_future_at():
    # Granted on 2026-01-10 for 2026-02-10: not usable before, usable from then on.
    household = household_with_plan(monthly_allowance_bytes=0)
    member = MemberFactory(household=household)
    feb_10 = datetime(2026, 2, 10, 12, tzinfo=UTC)
    bonus = grant(household, kind="bonus", zone="domestic", bytes=5 * GB, at=feb_10, now=JAN_10)
    assert (bonus.valid_from, bonus.expires_at, bonus.period) == (feb_10, MAR_START, "2026-02")

    before = record_usage(member, bytes=GB, at=feb_10 - timedelta(seconds=1), now=feb_10)
    on_time = record_usage(member, bytes=GB, at=feb_10, now=feb_10)
    assert (before.covered_bytes, before.overage_bytes) == (0, GB)
    assert (on_time.covered_bytes, on_time.overage_bytes) == (GB, 0)
    bonus.refresh_from_db()
    assert bonus.left_bytes == 4 * GB


def test_r2_a_time_without_offset_is_read_in_the_household_zone():
    # 2026-01-31 23:30 in Paris is 22:30 UTC, still in 2026-01 (read as UTC it would
    # be 2026-02-01 00:30 in Paris, in 2026-02).
    household = household_with_plan()
    bucket = grant(
        household,
        kind="bonus",
        zone="domestic",
        bytes=GB,
        at=datetime(2026, 1, 31, 23, 30),
        expires_at=datetime(2026, 2, 1, 0, 30),
        now=datetime(2026, 2, 1, tzinfo=UTC),
    )
    bucket.refresh_from_db()
    assert bucket.valid_from == datetime(2026, 1, 31, 22, 30, tzinfo=UTC)
    assert bucket.expires_at == datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert bucket.period == "2026-01"


def test_r2_naive_at_in_shanghai_defaults_to_its_period_end():
    # Asia/Shanghai (UTC+8): naive 2026-02-01 03:00 is 2026-01-31T19:00Z, in 2026-02
    # there, which ends at 2026-03-01 00:00 +08 = 2026-02-28T16:00Z.
    household = household_with_plan(time_zone="Asia/Shanghai")
    bucket = grant(
        household,
        kind="addon",
        zone="domestic",
        bytes=GB,
        at=datetime(2026, 2, 1, 3),
        now=datetime(2026, 2, 1, tzinfo=UTC),
    )
    bucket.refresh_from_db()
    assert bucket.valid_from == datetime(2026, 1, 31, 19, tzinfo=UTC)
    assert bucket.expires_at == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert bucket.period == "2026-02"


def test_r2_packs_never_roll_over_and_expire_at_the_close():
    # 10 GB plan with rollover, 7 GB used in 2026-01; an add-on (2 GB) and a bonus
    # (1 GB) untouched. The close rolls 3 GB (the allowance only), expires 3 GB (packs).
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    member = MemberFactory(household=household)
    addon = grant(household, kind="addon", zone="domestic", bytes=2 * GB, now=JAN_10)
    bonus = grant(household, kind="bonus", zone="roaming", bytes=1 * GB, now=JAN_10)
    record_usage(member, bytes=7 * GB, at=JAN_10, now=JAN_10)

    close_periods(now=JAN_CLOSE)

    close = PeriodClose.objects.get(household=household, period="2026-01")
    assert (close.rolled_bytes, close.expired_bytes) == (3 * GB, 3 * GB)
    rollover = Bucket.objects.get(household=household, kind="rollover")
    assert rollover.granted_bytes == 3 * GB
    for pack, size in ((addon, 2 * GB), (bonus, 1 * GB)):
        pack.refresh_from_db()
        assert (pack.left_bytes, pack.expired_bytes, pack.rolled_out_bytes) == (0, size, 0)
        expiry = LedgerEntry.objects.get(bucket=pack, kind="expiry")
        assert (expiry.bytes, expiry.at, expiry.period_close) == (size, FEB_START, close)


def test_r2_a_grant_changes_no_other_bucket():
    household = household_with_plan(monthly_allowance_bytes=10 * GB, roaming_allowance_bytes=GB)
    record_usage(MemberFactory(household=household), bytes=4 * GB, at=JAN_10, now=JAN_10)
    fields = ("pk", "granted_bytes", "left_bytes", "allocated_bytes", "valid_from", "expires_at")
    before = list(Bucket.objects.order_by("pk").values_list(*fields))

    new = grant(household, kind="addon", zone="domestic", bytes=GB, now=JAN_10)

    assert list(Bucket.objects.exclude(pk=new.pk).order_by("pk").values_list(*fields)) == before


@pytest.mark.parametrize("size", [1, 10**13])
def test_r2_bytes_at_the_bounds_are_accepted(size):
    household = household_with_plan()
    bucket = grant(household, kind="addon", zone="domestic", bytes=size, now=JAN_10)
    assert (bucket.granted_bytes, bucket.left_bytes) == (size, size)


@pytest.mark.parametrize("size", [0, -1, 10**13 + 1, 1.0, True, "5"])
def test_r2_bytes_out_of_range_are_refused(size):
    household = household_with_plan()
    before = counts()
    with pytest.raises(Refused) as refused:
        grant(household, kind="addon", zone="domestic", bytes=size, now=JAN_10)
    assert "bytes" in str(refused.value) and f"({size})" in str(refused.value)
    assert counts() == before


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-3)])
def test_r2_expiry_not_after_valid_from_is_refused(offset):
    household = household_with_plan()
    expires = JAN_10 + offset
    with pytest.raises(Refused) as refused:
        grant(household, kind="bonus", zone="domestic", bytes=GB, expires_at=expires, now=JAN_10)
    assert str(refused.value).startswith("expires_at: ")
    assert expires.isoformat() in str(refused.value)
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("field", "value"), [("kind", "allowance"), ("kind", "rollover"), ("zone", "moon")]
)
def test_r2_unknown_kind_or_zone_is_refused(field, value):
    household = household_with_plan()
    kwargs = {"kind": "addon", "zone": "domestic", field: value}
    with pytest.raises(Refused) as refused:
        grant(household, bytes=GB, now=JAN_10, **kwargs)
    assert str(refused.value).startswith(f"{field}: ") and f"({value})" in str(refused.value)
    assert counts() == (0, 0, 0, 0)


def test_r2_grant_before_the_start_period_is_refused():
    household = household_with_plan()
    at = datetime(2025, 12, 31, 22, 59, 59, tzinfo=UTC)  # 23:59:59 Paris, in 2025-12
    with pytest.raises(Refused) as refused:
        grant(household, kind="addon", zone="domestic", bytes=GB, at=at, now=JAN_10)
    assert str(refused.value).startswith("at: ") and at.isoformat() in str(refused.value)
    assert counts() == (0, 0, 0, 0)


def test_r2_grant_in_a_closed_period_is_refused_and_closes_nothing_more():
    # 2026-01 is closed; on 2026-03-10 (2026-02 due too) a grant dated 2026-01-20 is
    # refused, and the refusal does not close 2026-02.
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    close_periods(now=JAN_CLOSE)
    assert list(household.closes.values_list("period", flat=True)) == ["2026-01"]
    before = counts()

    at = datetime(2026, 1, 20, tzinfo=UTC)
    with pytest.raises(Refused) as refused:
        grant(
            household,
            kind="addon",
            zone="domestic",
            bytes=GB,
            at=at,
            now=datetime(2026, 3, 10, tzinfo=UTC),
        )
    assert str(refused.value) == (
        f"at: falls in period 2026-01, which is closed ({at.isoformat()})"
    )
    assert counts() == before


def test_r2_a_grant_dated_in_an_ended_period_is_accepted_during_its_grace():
    # 2026-01 ended but its grace runs until 2026-02-02T23:00Z: a grant dated in
    # 2026-01 is still accepted and then expires at the close.
    household = household_with_plan()
    now = JAN_CLOSE - timedelta(seconds=1)
    at = FEB_START - timedelta(seconds=1)
    bucket = grant(household, kind="addon", zone="domestic", bytes=GB, at=at, now=now)
    assert (bucket.period, bucket.expires_at) == ("2026-01", FEB_START)
    close_periods(now=JAN_CLOSE)
    bucket.refresh_from_db()
    assert (bucket.left_bytes, bucket.expired_bytes) == (0, GB)
