"""SPEC R4: closing a period (month-end rollover)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, transaction

from accounts.services import update_member
from core.errors import Refused
from core.periods import Period
from plans import services as plan_services
from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.services import close_periods, closing, grant
from tests.factories import GB, MemberFactory, household_with_plan
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db

# Europe/Paris boundaries (the factories' zone) and the default 48 h grace.
JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)  # 2026-02-01 00:00 +01:00
MAR_START = datetime(2026, 2, 28, 23, tzinfo=UTC)  # 2026-03-01 00:00 +01:00
APR_START = datetime(2026, 3, 31, 22, tzinfo=UTC)  # 2026-04-01 00:00 +02:00
MAY_START = datetime(2026, 4, 30, 22, tzinfo=UTC)
JAN_DUE = FEB_START + timedelta(hours=48)  # 2026-02-02T23:00Z
APR_5 = datetime(2026, 4, 5, tzinfo=UTC)  # 2026-01..2026-03 all due


def counts():
    return tuple(m.objects.count() for m in (PeriodClose, Bucket, LedgerEntry, UsageRecord))


def closes(household):
    return [
        (c.period, c.unused_bytes, c.rolled_bytes, c.expired_bytes)
        for c in PeriodClose.objects.filter(household=household).order_by("pk")
    ]


def rollover_of(household, period):
    return Bucket.objects.get(household=household, kind="rollover", period=period)


def plan_with_january_usage(used=7 * GB, **terms):
    """A 10 GB plan (Paris, from 2026-01) with ``used`` bytes recorded on 2026-01-10."""
    household = household_with_plan(**{"monthly_allowance_bytes": 10 * GB, **terms})
    member = MemberFactory(household=household)
    record_usage(member, bytes=used, at=JAN_10, now=JAN_10)
    return household, member


def test_r4_unused_allowance_rolls_into_a_bucket_for_the_next_period():
    # 10 GB plan, 7 GB used -> 3 GB rolled, nothing expired.
    household, _ = plan_with_january_usage(rollover=True)
    close_periods(now=JAN_DUE)

    assert closes(household)[0] == ("2026-01", 3 * GB, 3 * GB, 0)
    rollover = rollover_of(household, "2026-01")
    assert (rollover.zone, rollover.granted_bytes, rollover.left_bytes) == (
        "domestic",
        3 * GB,
        3 * GB,
    )
    assert (rollover.valid_from, rollover.expires_at) == (FEB_START, MAR_START)
    allowance = Bucket.objects.get(household=household, kind="allowance", period="2026-01")
    assert (allowance.left_bytes, allowance.rolled_out_bytes, allowance.expired_bytes) == (
        0,
        3 * GB,
        0,
    )
    entries = LedgerEntry.objects.filter(period_close__period="2026-01").order_by("pk")
    assert [(e.kind, e.bytes, e.at) for e in entries] == [
        ("roll_out", 3 * GB, FEB_START),
        ("roll_in", 3 * GB, FEB_START),
    ]


@pytest.mark.parametrize(
    ("terms", "rolled", "expired"),
    [
        ({"rollover": True, "rollover_cap_bytes": 2 * GB}, 2 * GB, 1 * GB),
        ({"rollover": True, "rollover_cap_bytes": 5 * GB}, 3 * GB, 0),
        ({"rollover": True, "rollover_cap_bytes": 0}, 0, 3 * GB),
        ({"rollover": False}, 0, 3 * GB),
        ({"rollover": False, "rollover_cap_bytes": 2 * GB}, 0, 3 * GB),
    ],
    ids=["cap-2GB", "cap-5GB", "cap-0", "rollover-off", "rollover-off-with-cap"],
)
def test_r4_rolled_is_the_unused_allowance_capped(terms, rolled, expired):
    # 10 GB plan, 7 GB used -> 3 GB unused.
    household, _ = plan_with_january_usage(**terms)
    close_periods(now=JAN_DUE)

    assert closes(household)[0] == ("2026-01", 3 * GB, rolled, expired)
    rollovers = Bucket.objects.filter(household=household, kind="rollover")
    assert [b.granted_bytes for b in rollovers] == ([rolled] if rolled else [])
    allowance = Bucket.objects.get(household=household, kind="allowance", period="2026-01")
    assert (allowance.rolled_out_bytes, allowance.expired_bytes, allowance.left_bytes) == (
        rolled,
        expired,
        0,
    )


def test_r4_unlimited_allowance_rolls_and_expires_nothing():
    household, _ = plan_with_january_usage(monthly_allowance_bytes=None, rollover=True)
    close_periods(now=JAN_DUE)
    assert closes(household)[0] == ("2026-01", None, 0, 0)
    assert not Bucket.objects.filter(kind="rollover").exists()


def test_r4_rollover_months_2_keeps_january_data_through_march_not_april():
    # 10 GB, rollover for 2 months, rollover first. January: 7 GB used -> 3 GB rolled,
    # valid 2026-02-01..2026-04-01. February: nothing used -> 10 GB rolled.
    # March: 2 GB drawn from January's rollover (it expires first). March's close
    # expires January's last 1 GB and rolls March's allowance only (10 GB).
    household, member = plan_with_january_usage(rollover=True, rollover_months=2)
    mar_10 = datetime(2026, 3, 10, tzinfo=UTC)
    march = record_usage(member, bytes=2 * GB, at=mar_10, now=mar_10)
    jan_rollover = rollover_of(household, "2026-01")
    assert (jan_rollover.valid_from, jan_rollover.expires_at) == (FEB_START, APR_START)
    assert [(a.bucket_id, a.bytes) for a in march.allocations.all()] == [(jan_rollover.pk, 2 * GB)]

    apr_10 = datetime(2026, 4, 10, tzinfo=UTC)
    april = record_usage(member, bytes=GB, at=apr_10, now=apr_10)

    assert closes(household) == [
        ("2026-01", 3 * GB, 3 * GB, 0),
        ("2026-02", 10 * GB, 10 * GB, 0),
        ("2026-03", 10 * GB, 10 * GB, 1 * GB),
    ]
    jan_rollover.refresh_from_db()
    assert (jan_rollover.left_bytes, jan_rollover.expired_bytes) == (0, GB)
    assert jan_rollover.rolled_out_bytes == 0  # rolled data never rolls again
    expiry = LedgerEntry.objects.get(bucket=jan_rollover, kind="expiry")
    assert (expiry.bytes, expiry.at, expiry.period_close.period) == (GB, APR_START, "2026-03")
    feb_rollover = rollover_of(household, "2026-02")
    assert (feb_rollover.valid_from, feb_rollover.expires_at) == (MAR_START, MAY_START)
    assert [(a.bucket_id, a.bytes) for a in april.allocations.all()] == [(feb_rollover.pk, GB)]


def test_r4_rolled_data_never_rolls_again():
    # rollover_months=1: January rolls 3 GB into February; February uses nothing.
    # February's close rolls its own 10 GB only and expires January's 3 GB.
    household, _ = plan_with_january_usage(rollover=True)
    close_periods(now=MAR_START + timedelta(hours=48))
    assert closes(household) == [
        ("2026-01", 3 * GB, 3 * GB, 0),
        ("2026-02", 10 * GB, 10 * GB, 3 * GB),
    ]
    jan_rollover = rollover_of(household, "2026-01")
    assert (jan_rollover.rolled_out_bytes, jan_rollover.expired_bytes) == (0, 3 * GB)
    assert rollover_of(household, "2026-02").granted_bytes == 10 * GB


@pytest.mark.parametrize("grace_hours", [48, 0, 72])
def test_r4_a_period_closes_only_once_its_grace_has_passed(settings, grace_hours):
    # 2026-01 ends at 2026-02-01 00:00 Paris = 2026-01-31T23:00Z.
    settings.CLOSE_GRACE_HOURS = grace_hours
    household, _ = plan_with_january_usage(rollover=True)
    due = FEB_START + timedelta(hours=grace_hours)

    early = close_periods(now=due - timedelta(microseconds=1))
    assert (early.closed, closes(household)) == ([], [])

    on_time = close_periods(now=due)
    assert [r.household for r in on_time.closed] == [household]
    assert closes(household) == [("2026-01", 3 * GB, 3 * GB, 0)]
    assert PeriodClose.objects.get().closed_at == due


def test_r4_catch_up_closes_every_missed_period_in_order_once():
    # No usage at all; on 2026-04-05 2026-01, -02 and -03 are all past their grace.
    # Each rolls its 10 GB; the rollover of the period before expires at each close.
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    first = close_periods(now=APR_5)

    assert [c.period for c in first.results[0].closes] == ["2026-01", "2026-02", "2026-03"]
    assert closes(household) == [
        ("2026-01", 10 * GB, 10 * GB, 0),
        ("2026-02", 10 * GB, 10 * GB, 10 * GB),
        ("2026-03", 10 * GB, 10 * GB, 10 * GB),
    ]
    assert (first.rolled_bytes, first.expired_bytes) == (30 * GB, 20 * GB)
    household.refresh_from_db()
    assert household.opened_through == "2026-04"
    after_first = counts()
    # 3 closes; 4 allowances + 3 rollovers; 4 grants + 3 x (roll-out, roll-in) + 2 expiries.
    assert after_first == (3, 7, 4 + 6 + 2, 0)

    second = close_periods(now=APR_5)
    assert (second.closed, second.failures, counts()) == ([], [], after_first)
    assert close_periods(now=APR_5 + timedelta(hours=1)).closed == []
    assert counts() == after_first


@pytest.mark.parametrize("write", ["record_usage", "grant"])
def test_r4_recording_or_granting_closes_earlier_periods_lazily(write):
    # A write at 2026-03-10 closes 2026-01 and 2026-02 (both past their grace) first.
    household, member = plan_with_january_usage(rollover=True)
    mar_10 = datetime(2026, 3, 10, tzinfo=UTC)
    if write == "record_usage":
        record_usage(member, bytes=GB, at=mar_10, now=mar_10)
    else:
        grant(household, kind="addon", zone="domestic", bytes=GB, at=mar_10, now=mar_10)
    assert closes(household) == [
        ("2026-01", 3 * GB, 3 * GB, 0),
        ("2026-02", 10 * GB, 10 * GB, 3 * GB),
    ]


def test_r4_a_write_closes_only_periods_whose_grace_has_passed():
    # 2026-02-02 22:59 UTC: 2026-01 is one minute short of its 48 h grace.
    household, member = plan_with_january_usage(rollover=True)
    now = JAN_DUE - timedelta(minutes=1)
    record_usage(member, bytes=GB, at=now, now=now)
    grant(household, kind="bonus", zone="domestic", bytes=GB, now=now)
    assert closes(household) == []
    # Late January data is still accepted, the last minute before the close.
    late = record_usage(member, bytes=GB, at=FEB_START - timedelta(hours=1), now=now)
    assert late.period == "2026-01"
    record_usage(member, bytes=GB, at=JAN_DUE, now=JAN_DUE)
    assert closes(household) == [("2026-01", 2 * GB, 2 * GB, 0)]


def test_r4_a_refused_record_or_grant_closes_nothing():
    # 2026-01 is closed; on 2026-03-10 2026-02 is due. Refused writes leave it open.
    household, member = plan_with_january_usage(rollover=True)
    close_periods(now=JAN_DUE)
    mar_10 = datetime(2026, 3, 10, tzinfo=UTC)
    jan_20 = datetime(2026, 1, 20, tzinfo=UTC)
    before = counts()
    refusals = [
        lambda: record_usage(member, bytes=GB, at=mar_10 + timedelta(minutes=6), now=mar_10),
        lambda: record_usage(member, bytes=GB, at=jan_20, now=mar_10),
        lambda: grant(household, kind="addon", zone="domestic", bytes=GB, at=jan_20, now=mar_10),
        lambda: (
            update_member(member, active=False),
            record_usage(member, bytes=GB, at=mar_10, now=mar_10),
        ),
    ]
    for refused in refusals:
        with pytest.raises(Refused):
            refused()
    assert counts() == before
    assert [c[0] for c in closes(household)] == ["2026-01"]


def test_r4_closing_a_period_opens_the_next_one():
    # Only 2026-01 is open; closing it (and nothing else) opens 2026-02.
    household, _ = plan_with_january_usage(rollover=True)
    household.refresh_from_db()
    assert household.opened_through == "2026-01"
    with transaction.atomic():
        locked = plan_services.lock_household(household)
        plan_services.close_due([locked], now=JAN_DUE)
    household.refresh_from_db()
    assert household.opened_through == "2026-02"
    feb = Bucket.objects.get(household=household, kind="allowance", period="2026-02")
    assert (feb.granted_bytes, feb.valid_from, feb.expires_at) == (10 * GB, FEB_START, MAR_START)
    assert closes(household) == [("2026-01", 3 * GB, 3 * GB, 0)]


def test_r4_close_periods_through_and_household_limit_the_work():
    one = household_with_plan(slug="one", monthly_allowance_bytes=10 * GB, rollover=True)
    two = household_with_plan(slug="two", monthly_allowance_bytes=10 * GB, rollover=True)

    report = close_periods(through=Period(2026, 2), household=one, now=APR_5)

    assert [r.household for r in report.results] == [one]
    assert [c[0] for c in closes(one)] == ["2026-01", "2026-02"]
    assert Bucket.objects.filter(household=two).count() == 0  # not even opened

    close_periods(through=Period(2026, 1), now=APR_5)
    assert [c[0] for c in closes(one)] == ["2026-01", "2026-02"]
    assert [c[0] for c in closes(two)] == ["2026-01"]

    close_periods(now=APR_5)
    assert [c[0] for c in closes(one)] == ["2026-01", "2026-02", "2026-03"]
    assert [c[0] for c in closes(two)] == ["2026-01", "2026-02", "2026-03"]


def test_r4_dry_run_reports_the_figures_and_writes_nothing():
    # 10 GB plan, cap 2 GB, 7 GB used: the dry run reports 2 GB rolled, 1 GB expired.
    household, _ = plan_with_january_usage(rollover=True, rollover_cap_bytes=2 * GB)
    before = counts()

    report = close_periods(dry_run=True, now=APR_5)

    assert report.dry_run is True
    (result,) = report.results
    assert [(c.period, c.rolled_bytes, c.expired_bytes) for c in result.closes] == [
        ("2026-01", 2 * GB, 1 * GB),
        ("2026-02", 2 * GB, 8 * GB + 2 * GB),
        ("2026-03", 2 * GB, 8 * GB + 2 * GB),
    ]
    assert (report.rolled_bytes, report.expired_bytes) == (6 * GB, 21 * GB)
    assert counts() == before
    household.refresh_from_db()
    assert household.opened_through == "2026-01"

    # The real close gives the very figures the dry run reported.
    real = close_periods(now=APR_5)
    assert (real.rolled_bytes, real.expired_bytes) == (6 * GB, 21 * GB)


def test_r4_a_failing_household_keeps_none_of_its_close_and_stops_no_other(monkeypatch):
    # "broken" fails while closing 2026-02, after its 2026-01 close was written in
    # the same transaction: both are rolled back; "fine" closes its three periods.
    broken = household_with_plan(slug="broken", monthly_allowance_bytes=10 * GB, rollover=True)
    fine = household_with_plan(slug="fine", monthly_allowance_bytes=10 * GB, rollover=True)
    record_usage(MemberFactory(household=broken), bytes=7 * GB, at=JAN_10, now=JAN_10)
    original = closing.close_round

    def close_round(pairs, terms, now):
        if (broken, Period(2026, 2)) in pairs:
            raise DatabaseError("disk full")
        return original(pairs, terms, now)

    monkeypatch.setattr(closing, "close_round", close_round)
    broken_before = (
        Bucket.objects.filter(household=broken).count(),
        LedgerEntry.objects.filter(household=broken).count(),
    )

    report = close_periods(now=APR_5)

    assert [r.household.slug for r in report.failures] == ["broken"]
    assert "disk full" in report.failures[0].error
    assert report.failures[0].closes == []
    assert [r.household.slug for r in report.closed] == ["fine"]
    assert [c[0] for c in closes(fine)] == ["2026-01", "2026-02", "2026-03"]
    assert closes(broken) == []
    assert (
        Bucket.objects.filter(household=broken).count(),
        LedgerEntry.objects.filter(household=broken).count(),
    ) == broken_before
    broken.refresh_from_db()
    assert broken.opened_through == "2026-01"

    monkeypatch.undo()  # the fault is gone: the next run catches up
    close_periods(now=APR_5)
    assert [c[0] for c in closes(broken)] == ["2026-01", "2026-02", "2026-03"]


def test_r4_a_household_without_terms_for_a_period_fails_alone():
    # The owner set the plan while the start period was 2026-02, then moved the start
    # period back to 2026-01 before any activity: 2026-01 has no terms to open with.
    stray = household_with_plan(slug="stray", start_period="2026-02")
    stray.start_period = "2026-01"
    stray.save()
    fine = household_with_plan(slug="fine", monthly_allowance_bytes=10 * GB)

    report = close_periods(now=APR_5)

    assert [r.household.slug for r in report.failures] == ["stray"]
    assert report.failures[0].error == str(
        Refused("plan", "the household has no plan for this period", "2026-01")
    )
    assert [c[0] for c in closes(fine)] == ["2026-01", "2026-02", "2026-03"]
    assert (closes(stray), Bucket.objects.filter(household=stray).count()) == ([], 0)


def test_r4_late_close_leaves_next_period_usage_alone():
    # January (7 GB of 10 used) awaits its close while 2 GB are recorded on
    # 2026-02-01 at 12:00. The close on 2026-02-03 rolls 3 GB valid from February's
    # start; the February record keeps its allocation from February's allowance, and
    # a record dated before the close (recorded after it) draws the rollover first.
    household, member = plan_with_january_usage(rollover=True)
    feb_1 = datetime(2026, 2, 1, 11, tzinfo=UTC)
    early = record_usage(member, bytes=2 * GB, at=feb_1, now=feb_1)

    close_periods(now=JAN_DUE)

    rollover = rollover_of(household, "2026-01")
    assert (rollover.valid_from, rollover.left_bytes) == (FEB_START, 3 * GB)
    early_draws = [(a.bucket.kind, a.bucket.period, a.bytes) for a in early.allocations.all()]
    assert early_draws == [("allowance", "2026-02", 2 * GB)]
    early.refresh_from_db()
    assert (early.covered_bytes, early.overage_bytes) == (2 * GB, 0)

    backfill = record_usage(member, bytes=4 * GB, at=feb_1 + timedelta(hours=1), now=JAN_DUE)
    assert [(a.bucket.kind, a.bytes) for a in backfill.allocations.order_by("pk")] == [
        ("rollover", 3 * GB),
        ("allowance", GB),
    ]


@pytest.mark.parametrize(
    ("time_zone", "cycle_day", "end"),
    [
        # 2026-01 runs to local midnight on the cycle day of February.
        ("Europe/Paris", 28, datetime(2026, 2, 27, 23, tzinfo=UTC)),  # 02-28 00:00 +01
        ("Asia/Shanghai", 1, datetime(2026, 1, 31, 16, tzinfo=UTC)),  # 02-01 00:00 +08
        ("Asia/Shanghai", 28, datetime(2026, 2, 27, 16, tzinfo=UTC)),  # 02-28 00:00 +08
    ],
)
def test_r4_close_instants_follow_zone_and_cycle_day(time_zone, cycle_day, end):
    household = household_with_plan(
        time_zone=time_zone, cycle_day=cycle_day, monthly_allowance_bytes=10 * GB, rollover=True
    )
    member = MemberFactory(household=household)
    last_second = record_usage(member, bytes=GB, at=end - timedelta(seconds=1), now=end)
    first_second = record_usage(member, bytes=GB, at=end, now=end)
    assert (last_second.period, first_second.period) == ("2026-01", "2026-02")

    due = end + timedelta(hours=48)
    assert close_periods(now=due - timedelta(seconds=1)).closed == []
    assert close_periods(now=due).closed[0].closes[0].period == "2026-01"
    assert closes(household) == [("2026-01", 9 * GB, 9 * GB, 0)]
    rollover = rollover_of(household, "2026-01")
    assert rollover.valid_from == end
    assert rollover.left_bytes == 9 * GB


def test_r4_closing_an_already_closed_period_does_nothing():
    household, _ = plan_with_january_usage(rollover=True)
    close_periods(now=JAN_DUE)
    before = counts()
    with transaction.atomic():
        locked = plan_services.lock_household(household)
        assert plan_services.close_due([locked], now=APR_5, through=Period(2026, 1)) == {}
    report = close_periods(now=JAN_DUE + timedelta(hours=1))
    assert (report.closed, report.failures) == ([], [])
    assert counts() == before
