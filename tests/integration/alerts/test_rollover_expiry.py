"""Rolled-over data expiring: warned 7 days and again 1 day before it expires, by the
daily run (``send_alerts`` / ``check_all``), once each, never for an empty bucket; and
the daily run's other jobs (closes not yet announced, false alarms it must not raise).

The family: 10 GB a month with rollover (1 month), no roaming allowance. January: 4 GB
used, so January's close rolls 6 GB into February, usable until 2026-03-01 00:00 Paris.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from plans import services as plan_services
from plans.models import Bucket
from tests.factories import GB
from tests.integration.alerts.conftest import PARIS, delivered_to, fired, make_family
from usage.models import Alert, AlertSettings

pytestmark = pytest.mark.django_db

EVERYONE = ["Lea", "Max", "Olga", "Paul"]


def paris(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def rolled(record, mailoutbox):
    """The family with 6 GB rolled from January into February (the lazy close on
    2026-02-03 13:00, after the 48 h grace)."""
    family = make_family(rollover=True, roaming_allowance_bytes=0)
    record(family.paul, 4 * GB, at=paris(1, 10))
    record(family.paul, 1 * GB, at=paris(2, 3, 13))  # from the rollover first: 5 GB left
    bucket = Bucket.objects.get(household=family.household, kind="rollover")
    assert (bucket.left_bytes, bucket.expires_at) == (5 * GB, paris(3, 1))
    assert [kind for kind, *_ in fired(family.household)] == ["period_closed"]
    mailoutbox.clear()
    return family


def expiring(family) -> list[tuple]:
    return fired(family.household, "rollover_expiring")


def test_warned_7_days_and_1_day_before_expiry_once_each(rolled, check_all, mailoutbox):
    """Daily runs from 2026-02-20 to 2026-03-04 (across the period boundary): the 7-day
    warning on 2026-02-22 00:00 (not at 2026-02-21 23:59), the 1-day one on 2026-02-28
    00:00 (not at 2026-02-27 23:59), nothing twice, nothing once expired."""
    bucket = Bucket.objects.get(household=rolled.household, kind="rollover")
    subject = f"bucket:{bucket.pk}"
    check_all(paris(2, 20, 12))
    check_all(paris(2, 21, 23, 59))
    assert expiring(rolled) == []

    check_all(paris(2, 22))
    assert expiring(rolled) == [("rollover_expiring", subject, 7, "2026-02")]
    alert = Alert.objects.get(kind="rollover_expiring")
    assert alert.figures["left_bytes"] == 5 * GB
    assert datetime.fromisoformat(alert.figures["expires_at"]) == paris(3, 1)
    assert delivered_to(alert) == EVERYONE
    assert len(mailoutbox) == 4
    assert "5.00\xa0GB of rolled-over data expires within 7 days" in mailoutbox[0].body

    for moment in (paris(2, 22, 6), paris(2, 25, 12), paris(2, 27, 23, 59)):
        check_all(moment)
    assert len(expiring(rolled)) == 1

    check_all(paris(2, 28))
    assert expiring(rolled) == [
        ("rollover_expiring", subject, 7, "2026-02"),
        ("rollover_expiring", subject, 1, "2026-02"),
    ]
    assert len(mailoutbox) == 8
    assert "expires within 1 day:" in mailoutbox[-1].body

    for moment in (paris(2, 28, 12), paris(3, 1), paris(3, 2, 12), paris(3, 4)):
        check_all(moment)
    assert len(expiring(rolled)) == 2
    assert len(mailoutbox) == 8


def test_the_send_alerts_command_runs_at_its_clock(
    rolled, monkeypatch, mailoutbox, capsys, django_capture_on_commit_callbacks
):
    """``send_alerts`` reads the clock: on 2026-02-23 it warns (7 days), on 2026-02-24
    there is nothing new. (Inside the test's transaction the commit's callbacks run
    only when the capture ends, so here the command's retry pass sends the 4 emails,
    and the callbacks find nothing left to send: no email goes twice.)"""
    clock = {"now": paris(2, 23, 6)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("send_alerts")
    assert len(callbacks) == 1
    assert capsys.readouterr().out == "1 alert(s) fired; 4 email(s) sent, 0 failed.\n"
    assert len(expiring(rolled)) == 1
    assert len(mailoutbox) == 4

    clock["now"] = paris(2, 24, 6)
    call_command("send_alerts")
    assert capsys.readouterr().out == "0 alert(s) fired; 0 email(s) sent, 0 failed.\n"


def test_no_warning_for_a_used_up_bucket(rolled, record, check_all):
    """The other 5 GB of the rollover are used on 2026-02-10: nothing to warn about."""
    record(rolled.max, 5 * GB, at=paris(2, 10))
    assert Bucket.objects.get(household=rolled.household, kind="rollover").left_bytes == 0
    check_all(paris(2, 22))
    check_all(paris(2, 28))
    assert expiring(rolled) == []


def test_the_last_warning_alone_when_the_first_run_is_that_late(rolled, check_all):
    """No run until 2026-02-28 12:00: both thresholds hold; each fires once."""
    check_all(paris(2, 28, 12))
    check_all(paris(2, 28, 13))
    assert [threshold for _, _, threshold, _ in expiring(rolled)] == [1, 7]


def test_household_warning_days_from_alert_settings(rolled, check_all):
    """Warn 3 days and 2 days before: 2026-02-25 23:59 nothing, 2026-02-26 the first,
    2026-02-27 the second."""
    AlertSettings.objects.create(
        household=rolled.household, rollover_warn_days=3, rollover_last_warn_days=2
    )
    check_all(paris(2, 22))
    check_all(paris(2, 25, 23, 59))
    assert expiring(rolled) == []
    check_all(paris(2, 26))
    check_all(paris(2, 27))
    assert [threshold for _, _, threshold, _ in expiring(rolled)] == [3, 2]


def test_an_extended_expiry_is_warned_once_across_the_period_boundary(rolled, check_all):
    """The owner extends the rollover to 2026-03-04 00:00 (mid-March): the 7-day warning
    comes on 2026-02-25, and the runs on 2026-03-01 and 03-02 (a new period) must not
    send it again; the 1-day one comes on 2026-03-03."""
    bucket = Bucket.objects.get(household=rolled.household, kind="rollover")
    plan_services.extend_expiry(bucket, expires_at=paris(3, 4), now=paris(2, 10))
    for day in (24, 25, 26, 28):
        check_all(paris(2, day))
    check_all(paris(3, 1))
    check_all(paris(3, 2))
    assert [t for _, _, t, _ in expiring(rolled)] == [7]
    check_all(paris(3, 3))
    check_all(paris(3, 3, 12))
    assert [t for _, _, t, _ in expiring(rolled)] == [7, 1]


def test_the_daily_run_announces_closes_made_by_rollover_to_the_owner(record, check_all):
    """The cron close (``close_periods``) records no alert itself; the next daily run
    announces January's close to Olga, once."""
    family = make_family(rollover=True, roaming_allowance_bytes=0)
    record(family.paul, 3 * GB, at=paris(1, 10))
    plan_services.close_periods(now=paris(2, 3, 1))
    assert fired(family.household) == []
    check_all(paris(2, 3, 2))
    check_all(paris(2, 4, 2))
    assert fired(family.household) == [("period_closed", "close:2026-01", 0, "2026-01")]
    assert delivered_to(Alert.objects.get()) == ["Olga"]
    assert Alert.objects.get().figures["rolled_bytes"] == 7 * GB


def test_the_daily_run_raises_no_pool_alarm_for_a_period_not_opened_yet(record, check_all):
    """Rollover for 2 months: January's 6 GB rollover is usable in February and March.
    February uses it all and the whole allowance (16 GB, 0 left). On 2026-03-01, before
    anything opened March, the daily run must not call March's pool low or empty: March's
    10 GB allowance does not exist yet, not that the pool is used up."""
    family = make_family(rollover=True, rollover_months=2, roaming_allowance_bytes=0)
    record(family.paul, 4 * GB, at=paris(1, 10))
    record(family.paul, 16 * GB, at=paris(2, 10))
    before = [
        ("period_closed", "close:2026-01", 0, "2026-01"),
        ("pool_empty", "domestic", 0, "2026-02"),
        ("pool_low", "domestic", 20, "2026-02"),
    ]
    assert sorted(fired(family.household)) == before
    check_all(paris(3, 1, 9))
    assert sorted(fired(family.household)) == before

    record(family.paul, 1 * GB, at=paris(3, 2))  # March opens: 10 GB, 9 GB left
    assert sorted(fired(family.household)) == before


def test_the_daily_run_skips_households_with_nothing_open(check_all):
    family = make_family()
    assert check_all(paris(1, 20)) == 0
    assert fired(family.household) == []
