"""Concurrent writers on one household (SPEC R1, R3, R4, R5; PITFALLS "Django and
databases").

``select_for_update`` does nothing on SQLite, so locking is proven on PostgreSQL with
real threads, each with its own connection (``@pytest.mark.postgres``). SQLite's own
answer, IMMEDIATE transactions on a file database, is proven by the ``sqlite_file``
test. conftest.py runs each test in its kind of session only; in the default in-memory
SQLite session the two wrappers at the end re-run this file in a subprocess, on
PostgreSQL (skipped only when no PostgreSQL answers) and on an SQLite file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import Household, Member
from core.errors import Refused
from plans import services as plan_services
from plans.models import Bucket, PeriodClose
from tests.factories import GB, MB, MemberFactory, household_with_plan
from usage.ledger import find_violations
from usage.models import Alert, AlertDelivery, Allocation, UsageRecord
from usage.selectors import pool_status
from usage.services import record_usage

PARIS = ZoneInfo("Europe/Paris")
PROJECT = Path(__file__).resolve().parents[3]
POSTGRES_URL = os.environ.get(
    "DATAPOOL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)

on_postgres = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
on_sqlite_file = [pytest.mark.sqlite_file, pytest.mark.django_db(transaction=True)]


def apply(marks):
    def decorate(function):
        for mark in reversed(marks):
            function = mark(function)
        return function

    return decorate


def failures(outcomes) -> list[str]:
    return [repr(o.error) for o in outcomes if o.error is not None]


def writer(member_pk: int, *, records: int, first: datetime, label: str, now: datetime):
    """One member's phone reporting ``records`` sessions of 100 MB, a minute apart."""

    def task():
        member = Member.objects.get(pk=member_pk)  # its own objects, as a request has
        return [
            record_usage(
                member,
                bytes=100 * MB,
                at=first + timedelta(minutes=j),
                ref=f"{member.username}-{label}-{j}",
                now=now,
            ).pk
            for j in range(records)
        ]

    return task


def member_totals(member: Member) -> tuple[int, int, int]:
    row = UsageRecord.objects.filter(member=member).aggregate(
        used=Sum("bytes"), covered=Sum("covered_bytes"), overage=Sum("overage_bytes")
    )
    return row["used"], row["covered"], row["overage"]


# --- PostgreSQL: row locks serialise the writers --------------------------------------


@apply(on_postgres)
def test_eight_writers_grants_and_a_close_allocate_as_if_serial(run_concurrently):
    """Plan 5 GB with rollover, start 2026-01, now 2026-03-20: January and February are
    due. Closing them rolls 5 GB (Jan, expired at Feb's close) and 5 GB (Feb, usable in
    March), so March has 5 + 5 GB, plus two 1 GB add-ons granted meanwhile = 12 GB.

    Phase 1, all at once: 8 writers x 5 records x 100 MB (4 GB), 2 grants of 1 GB and 2
    close_periods. Members 6 and 7 block at a 300 MB cap: 3 records covered, 2 overage.
    Covered 6 x 500 MB + 2 x 300 MB = 3.6 GB, well inside the pool whatever the order.
    Phase 2, all at once: 8 writers x 15 records x 100 MB (12 GB): the capped members'
    1.5 GB each is overage; the others' 9 GB meets 12 - 3.6 = 8.4 GB left, so 8.4 GB
    covered and 0.6 GB overage. In all 16 GB used, exactly 12 GB covered, 4 GB overage.
    """
    now = datetime(2026, 3, 20, 12, tzinfo=PARIS)
    household = household_with_plan(monthly_allowance_bytes=5 * GB, rollover=True)
    members = [MemberFactory(household=household) for _ in range(6)]
    capped = [
        MemberFactory(household=household, monthly_cap_bytes=300 * MB, cap_action="block")
        for _ in range(2)
    ]
    everyone = members + capped

    def grant():
        return plan_services.grant(
            Household.objects.get(pk=household.pk),
            kind="addon",
            zone="domestic",
            bytes=1 * GB,
            at=datetime(2026, 3, 1, tzinfo=PARIS),
            now=now,
        ).pk

    def close():
        report = plan_services.close_periods(now=now)
        assert not report.failures, [r.error for r in report.failures]
        return [c.period for r in report.results for c in r.closes]

    phase_1 = run_concurrently(
        *[
            writer(
                m.pk,
                records=5,
                first=datetime(2026, 3, 2, i, tzinfo=PARIS),
                label="p1",
                now=now,
            )
            for i, m in enumerate(everyone)
        ],
        grant,
        grant,
        close,
        close,
    )
    assert failures(phase_1) == []
    covered = UsageRecord.objects.aggregate(total=Sum("covered_bytes"))["total"]
    assert covered == 3600 * MB
    # Each period was closed once, by a close_periods or by a writer's lazy close.
    closed_by_command = phase_1[-2].value + phase_1[-1].value
    assert sorted(closed_by_command) == sorted(set(closed_by_command))
    closes = PeriodClose.objects.filter(household=household).order_by("period")
    assert [(c.period, c.rolled_bytes, c.expired_bytes) for c in closes] == [
        ("2026-01", 5 * GB, 0),
        ("2026-02", 5 * GB, 5 * GB),
    ]

    phase_2 = run_concurrently(
        *[
            writer(
                m.pk,
                records=15,
                first=datetime(2026, 3, 10, i, tzinfo=PARIS),
                label="p2",
                now=now,
            )
            for i, m in enumerate(everyone)
        ]
    )
    assert failures(phase_2) == []

    records = UsageRecord.objects.filter(household=household)
    totals = records.aggregate(
        n=Count("id"), used=Sum("bytes"), covered=Sum("covered_bytes"), over=Sum("overage_bytes")
    )
    assert totals == {"n": 160, "used": 16 * GB, "covered": 12 * GB, "over": 4 * GB}
    allocated = Allocation.objects.filter(record__household=household)
    assert allocated.aggregate(total=Sum("bytes"))["total"] == 12 * GB

    # No bucket over-drawn, none lost track of a byte, every March bucket drained.
    for bucket in Bucket.objects.filter(household=household):
        assert bucket.left_bytes >= 0, bucket
        drawn = allocated.filter(bucket=bucket).aggregate(total=Sum("bytes"))["total"] or 0
        assert bucket.allocated_bytes == drawn, bucket
    march = Bucket.objects.filter(household=household, expires_at__gt=now)
    assert sorted((b.kind, b.granted_bytes, b.left_bytes) for b in march) == [
        ("addon", 1 * GB, 0),
        ("addon", 1 * GB, 0),
        ("allowance", 5 * GB, 0),
        ("rollover", 5 * GB, 0),
    ]

    # Blocking caps hold exactly: 300 MB covered, the other 1.7 GB overage.
    for member in capped:
        assert member_totals(member) == (2 * GB, 300 * MB, 1700 * MB)
    for member in members:
        assert member_totals(member)[0] == 2 * GB
    assert find_violations() == []


@apply(on_postgres)
def test_the_same_ref_recorded_eight_times_at_once_is_one_record(run_concurrently):
    now = datetime(2026, 1, 20, 12, tzinfo=PARIS)
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)

    def same():
        return record_usage(
            Member.objects.get(pk=member.pk),
            bytes=300 * MB,
            at=datetime(2026, 1, 20, 9, tzinfo=PARIS),
            ref="phone-42",
            now=now,
        )

    outcomes = run_concurrently(*[same] * 8)

    assert failures(outcomes) == []
    record = UsageRecord.objects.get(household=household)
    assert {o.value.pk for o in outcomes} == {record.pk}
    assert sorted(o.value.replayed for o in outcomes) == [False] + [True] * 7
    assert household.buckets.get(kind="allowance").left_bytes == 9700 * MB


@apply(on_postgres)
def test_the_same_ref_with_other_content_at_once_is_refused_for_all_but_one(
    run_concurrently,
):
    now = datetime(2026, 1, 20, 12, tzinfo=PARIS)
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)

    def record(size: int):
        return lambda: record_usage(
            Member.objects.get(pk=member.pk),
            bytes=size,
            at=datetime(2026, 1, 20, 9, tzinfo=PARIS),
            ref="phone-42",
            now=now,
        )

    outcomes = run_concurrently(*[record((i + 1) * 100 * MB) for i in range(8)])

    won = [o.value for o in outcomes if o.error is None]
    refused = [o.error for o in outcomes if o.error is not None]
    assert len(won) == 1
    assert won[0].replayed is False
    assert len(refused) == 7
    for error in refused:
        assert isinstance(error, Refused), repr(error)
        assert str(error) == "ref: was already recorded with different content (phone-42)"
    record = UsageRecord.objects.get(household=household)
    assert (record.pk, record.bytes) == (won[0].pk, won[0].bytes)
    assert household.buckets.get(kind="allowance").left_bytes == 10 * GB - record.bytes


@apply(on_postgres)
def test_opening_a_period_at_once_creates_its_allowances_once(run_concurrently):
    """Start 2026-01, now 2026-02-02 (January still in its grace): 4 pool_status and
    4 record_usage of 1 GB at once on a fresh household open January and February,
    each with one domestic (10 GB) and one roaming (1 GB) allowance."""
    now = datetime(2026, 2, 2, 12, tzinfo=PARIS)
    for round in range(3):
        household = household_with_plan(
            monthly_allowance_bytes=10 * GB, roaming_allowance_bytes=1 * GB
        )
        members = [MemberFactory(household=household) for _ in range(4)]
        assert household.opened_through == ""

        def status(pk: int = household.pk):
            return pool_status(Household.objects.get(pk=pk), now=now)

        def record(pk: int):
            return lambda: record_usage(
                Member.objects.get(pk=pk),
                bytes=1 * GB,
                at=datetime(2026, 2, 2, 9, tzinfo=PARIS),
                now=now,
            )

        outcomes = run_concurrently(*[status] * 4, *[record(m.pk) for m in members])

        assert failures(outcomes) == [], round
        allowances = Bucket.objects.filter(household=household, kind="allowance")
        assert sorted(allowances.values_list("period", "zone", "granted_bytes")) == [
            ("2026-01", "domestic", 10 * GB),
            ("2026-01", "roaming", 1 * GB),
            ("2026-02", "domestic", 10 * GB),
            ("2026-02", "roaming", 1 * GB),
        ]
        household.refresh_from_db()
        assert household.opened_through == "2026-02"
        assert allowances.get(period="2026-02", zone="domestic").left_bytes == 6 * GB
        for outcome in outcomes[:4]:
            assert outcome.value["period"] == "2026-02"
            assert outcome.value["remaining_bytes"]["roaming"] == 1 * GB
            assert outcome.value["remaining_bytes"]["domestic"] in {
                10 * GB,
                9 * GB,
                8 * GB,
                7 * GB,
                6 * GB,
            }


@apply(on_postgres)
def test_two_hosts_running_rollover_at_once_close_each_period_once(run_concurrently, monkeypatch):
    """Cron fires ``rollover`` on two hosts at the same instant (SPEC §4), on 2026-03-05:
    January and February are due for 50 households (10 GB plans with rollover; household
    i used i x 100 MB in January). Each period closes once, whichever host gets there.

    Household i rolls 10 GB - i x 100 MB from January, then the untouched 10 GB from
    February, expiring January's rollover: over i = 0..49, rolled 1000 GB - 122.5 GB =
    877.5 GB and expired 500 GB - 122.5 GB = 377.5 GB.
    """
    now = datetime(2026, 3, 5, 12, tzinfo=PARIS)
    monkeypatch.setattr(timezone, "now", lambda: now)  # what the command reads
    for i in range(50):
        household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
        if i:
            at = datetime(2026, 1, 10, 12, tzinfo=PARIS)
            record_usage(MemberFactory(household=household), bytes=i * 100 * MB, at=at, now=at)
    single_run = plan_services.close_periods(dry_run=True)
    assert (single_run.rolled_bytes, single_run.expired_bytes) == (877_500 * MB, 377_500 * MB)

    def host():
        out, err = StringIO(), StringIO()
        call_command("rollover", stdout=out, stderr=err)  # raises on exit code 1
        return out.getvalue(), err.getvalue()

    outcomes = run_concurrently(host, host)

    assert failures(outcomes) == []
    assert [o.value[1] for o in outcomes] == ["", ""]
    summaries = [o.value[0].splitlines()[-1] for o in outcomes]
    rolled = [
        int(m[1]) if (m := re.search(r"rolled [^(]*\((\d+) bytes\)", line)) else 0
        for line in summaries
    ]
    assert sum(rolled) == single_run.rolled_bytes, summaries
    assert any(line.startswith("Nothing to close") for line in summaries) or all(
        line.endswith(", 0 failed.") for line in summaries
    ), summaries

    closes = PeriodClose.objects.values("household", "period").annotate(n=Count("id"))
    assert len(closes) == 100
    assert {row["n"] for row in closes} == {1}
    assert set(PeriodClose.objects.values_list("period", flat=True)) == {"2026-01", "2026-02"}
    rollovers = Bucket.objects.filter(kind="rollover")
    assert rollovers.count() == 100
    assert {(b.household_id, b.period, b.granted_bytes) for b in rollovers} == set(
        PeriodClose.objects.values_list("household", "period", "rolled_bytes")
    )
    assert PeriodClose.objects.aggregate(
        rolled=Sum("rolled_bytes"), expired=Sum("expired_bytes")
    ) == {"rolled": 877_500 * MB, "expired": 377_500 * MB}
    assert find_violations() == []


@apply(on_postgres)
def test_eight_phones_crossing_80_percent_at_once_alert_once(run_concurrently, mailoutbox):
    """Issue #6: Léa (a 5 GB cap that notifies) has 8 phones reporting 600 MB each at
    the same moment, 4 at home and 4 abroad (so that they touch different buckets):
    4.8 GB covered, past 80 % of her cap (4 GB) on the 7th, whichever it is. Paul had
    used 6 GB, so the 10 GB domestic pool goes from 4 GB left to 1.6 GB, past 20 %
    (2 GB); roaming keeps 2.6 GB of 5 GB. Exactly one cap_near (to Léa and Olga, the
    owner) and one pool_low (to all three), one delivery and one email per recipient;
    no cap_reached."""
    now = datetime(2026, 1, 20, 12, tzinfo=PARIS)
    household = household_with_plan(monthly_allowance_bytes=10 * GB, roaming_allowance_bytes=5 * GB)
    owner = MemberFactory(household=household, role="owner", display_name="Olga")
    paul = MemberFactory(household=household, display_name="Paul")
    lea = MemberFactory(household=household, display_name="Léa", monthly_cap_bytes=5 * GB)
    record_usage(paul, bytes=6 * GB, at=datetime(2026, 1, 10, tzinfo=PARIS), now=now)
    assert not Alert.objects.exists()

    def phone(index: int):
        return lambda: record_usage(
            Member.objects.get(pk=lea.pk),
            bytes=600 * MB,
            zone="roaming" if index % 2 else "domestic",
            at=datetime(2026, 1, 20, 11, tzinfo=PARIS),
            ref=f"lea-phone-{index}",
            now=now,
        )

    outcomes = run_concurrently(*[phone(i) for i in range(8)])

    assert failures(outcomes) == []
    assert UsageRecord.objects.filter(member=lea).aggregate(total=Sum("covered_bytes")) == {
        "total": 4800 * MB
    }
    alerts = Alert.objects.filter(household=household)
    assert sorted(alerts.values_list("kind", "subject", "threshold", "period")) == [
        ("cap_near", f"member:{lea.pk}", 80, "2026-01"),
        ("pool_low", "domestic", 20, "2026-01"),
    ]
    deliveries = AlertDelivery.objects.filter(alert__household=household)
    assert sorted((d.alert.kind, d.member.name) for d in deliveries) == [
        ("cap_near", "Léa"),
        ("cap_near", "Olga"),
        ("pool_low", "Léa"),
        ("pool_low", "Olga"),
        ("pool_low", "Paul"),
    ]
    assert all(d.sent_at is not None and d.attempts == 1 for d in deliveries)
    sent = sorted((m.to[0], m.subject.rsplit(": ", 1)[1]) for m in mailoutbox)
    assert sent == sorted(
        [
            (lea.user.email, "Monthly cap nearly reached"),
            (owner.user.email, "Monthly cap nearly reached"),
            (lea.user.email, "Domestic pool low"),
            (owner.user.email, "Domestic pool low"),
            (paul.user.email, "Domestic pool low"),
        ]
    )
    assert find_violations() == []


@apply(on_postgres)
def test_send_alerts_on_two_hosts_at_once_sends_each_email_once(
    run_concurrently, mailoutbox, monkeypatch
):
    """Cron fires ``send_alerts`` on two hosts at the same instant (PITFALLS: a job runs
    twice sooner or later) while 6 alert emails wait for a retry (the mail server was
    down when they fired). Each email goes out once, whichever host sends it."""
    from usage.alerts import delivery as alert_service

    now = datetime(2026, 1, 20, 12, tzinfo=PARIS)
    monkeypatch.setattr(timezone, "now", lambda: now)
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    for name in ("Olga", "Paul", "Max", "Léa", "Noé"):
        MemberFactory(household=household, display_name=name, role="member")
    owner = MemberFactory(household=household, display_name="Zoé", role="owner")
    real_send = alert_service.send_mail

    def down(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(alert_service, "send_mail", down)
    record_usage(owner, bytes=8 * GB, at=now, now=now)  # pool_low, to all 6
    pending = AlertDelivery.objects.filter(sent_at__isnull=True, attempts=1)
    assert pending.count() == 6
    assert mailoutbox == []

    def slow(*args, **kwargs):
        time.sleep(0.05)  # an SMTP round trip: the other host is at work meanwhile
        return real_send(*args, **kwargs)

    monkeypatch.setattr(alert_service, "send_mail", slow)

    def host():
        call_command("send_alerts", verbosity=0)

    outcomes = run_concurrently(host, host)

    assert failures(outcomes) == []
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        household.members.values_list("user__email", flat=True)
    )
    assert set(AlertDelivery.objects.values_list("attempts", flat=True)) == {2}
    assert not AlertDelivery.objects.filter(sent_at__isnull=True).exists()


# --- SQLite file: IMMEDIATE transactions queue the writers ----------------------------


@apply(on_sqlite_file)
def test_sqlite_writers_queue_without_locking_errors(run_concurrently):
    """A 10 GB plan, 8 phones recording 10 x 250 MB each at once (20 GB) while two
    pages read the status: no "database is locked", exactly 10 GB covered."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    now = datetime(2026, 1, 20, 12, tzinfo=PARIS)
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    members = [MemberFactory(household=household) for _ in range(8)]

    def phone(pk: int, hour: int):
        def task():
            member = Member.objects.get(pk=pk)
            for j in range(10):
                at = datetime(2026, 1, 10, hour, j, tzinfo=PARIS)
                record_usage(member, bytes=250 * MB, at=at, now=now)

        return task

    def status():
        return pool_status(Household.objects.get(pk=household.pk), now=now)["period"]

    outcomes = run_concurrently(*[phone(m.pk, i) for i, m in enumerate(members)], status, status)

    assert failures(outcomes) == []
    assert [o.value for o in outcomes[-2:]] == ["2026-01", "2026-01"]
    totals = UsageRecord.objects.aggregate(
        n=Count("id"), used=Sum("bytes"), covered=Sum("covered_bytes"), over=Sum("overage_bytes")
    )
    assert totals == {"n": 80, "used": 20 * GB, "covered": 10 * GB, "over": 10 * GB}
    allowance = household.buckets.get(kind="allowance")
    assert (allowance.allocated_bytes, allowance.left_bytes) == (10 * GB, 0)
    assert find_violations() == []


# --- wrappers: run in the default in-memory SQLite session ----------------------------


def marked(name: str) -> set[str]:
    return {
        key
        for key, value in globals().items()
        if key.startswith("test_") and any(m.name == name for m in getattr(value, "pytestmark", []))
    }


def run_this_file(tmp_path: Path, **environ: str) -> dict[str, str]:
    """Run this file's tests in a new pytest session; {test name: outcome}."""
    # Not the parent's options (``-n``), xdist worker or database.
    dropped = ("PYTEST_ADDOPTS", "PYTEST_XDIST", "PYTEST_CURRENT_TEST", "DATABASE_URL")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env.update(environ)
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", str(Path(__file__))]
    command += ["-p", "no:xdist", "-p", "no:cacheprovider", "-q", f"--junitxml={report}"]
    done = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300
    )
    output = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, output
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 (our own report)
        tags = [child.tag for child in case if child.tag not in ("system-out", "system-err")]
        outcomes[case.get("name")] = tags[0] if tags else "passed"
    return outcomes


def test_postgres_concurrency_tests_pass_in_a_postgres_session(tmp_path):
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(
            f"no PostgreSQL answers at {POSTGRES_URL} (set DATAPOOL_TEST_POSTGRES_URL): {error}"
        )
    expected = marked("postgres")
    assert len(expected) == 7
    outcomes = run_this_file(
        tmp_path,
        DATABASE_URL=POSTGRES_URL,
        DATAPOOL_TEST_DB_NAME=f"test_datapool_concurrency_{os.getpid()}",
    )
    assert outcomes == dict.fromkeys(expected, "passed")


def test_sqlite_file_concurrency_tests_pass_in_a_sqlite_file_session(tmp_path):
    expected = marked("sqlite_file")
    assert len(expected) == 1
    outcomes = run_this_file(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'datapool.sqlite3'}",
        DATAPOOL_TEST_DB_NAME=str(tmp_path / "test-datapool.sqlite3"),
    )
    assert outcomes == dict.fromkeys(expected, "passed")
