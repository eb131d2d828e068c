"""``rollover`` (SPEC §3, R4): the cron close, run the way cron runs it."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import DatabaseError

from core.periods import Period
from plans.models import Bucket, PeriodClose
from plans.services import closing, cron
from tests.factories import GB, HouseholdFactory, MemberFactory, household_with_plan
from tests.integration.commands.helpers import failed, refused, run, snapshot
from usage.services import record_usage

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parents[3]
JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
# Europe/Paris: January ends 2026-01-31T23:00Z, its 48 h grace at 2026-02-02T23:00Z.
JAN_DUE = datetime(2026, 2, 2, 23, tzinfo=UTC)

# alpha: 10 GB with rollover, 7 GB used in January. January rolls 3 GB; February rolls
# its untouched 10 GB and expires January's 3 GB rollover (valid through February only).
# beta: 20 GB, no rollover, 5 GB used. January expires 15 GB, February 20 GB.
# Together: 4 periods, rolled 3 + 10 = 13 GB, expired 3 + 15 + 20 = 38 GB.
ALPHA = (
    "alpha: closed 2026-01 rolled 3.00 GB (3000000000 bytes), expired 0 B (0 bytes); "
    "2026-02 rolled 10.0 GB (10000000000 bytes), expired 3.00 GB (3000000000 bytes)"
)
BETA = (
    "beta: closed 2026-01 rolled 0 B (0 bytes), expired 15.0 GB (15000000000 bytes); "
    "2026-02 rolled 0 B (0 bytes), expired 20.0 GB (20000000000 bytes)"
)
SUMMARY = (
    "2 household(s) closed (4 period(s)), rolled 13.0 GB (13000000000 bytes), "
    "expired 38.0 GB (38000000000 bytes), 0 failed."
)
NOTHING = "Nothing to close: every ended period is closed or in its grace."


def closes(slug: str | None = None) -> list[tuple]:
    rows = PeriodClose.objects.order_by("household__slug", "period")
    if slug:
        rows = rows.filter(household__slug=slug)
    return list(rows.values_list("household__slug", "period", "rolled_bytes", "expired_bytes"))


@pytest.fixture
def households(clock):
    """alpha and beta with January usage; the clock at 2026-03-05: January and
    February are both past their grace. gamma has no plan: nothing to account for."""
    alpha = household_with_plan(slug="alpha", monthly_allowance_bytes=10 * GB, rollover=True)
    beta = household_with_plan(slug="beta", monthly_allowance_bytes=20 * GB)
    HouseholdFactory(slug="gamma")
    record_usage(MemberFactory(household=alpha), bytes=7 * GB, at=JAN_10, now=JAN_10)
    record_usage(MemberFactory(household=beta), bytes=5 * GB, at=JAN_10, now=JAN_10)
    return alpha, beta


def test_rollover_closes_every_due_period_with_a_line_per_household_and_a_summary(households):
    out, err = run("rollover")

    assert out.splitlines() == [ALPHA, BETA, SUMMARY]
    assert err == ""
    assert closes() == [
        ("alpha", "2026-01", 3 * GB, 0),
        ("alpha", "2026-02", 10 * GB, 3 * GB),
        ("beta", "2026-01", 0, 15 * GB),
        ("beta", "2026-02", 0, 20 * GB),
    ]
    rollovers = Bucket.objects.filter(kind="rollover").order_by("period")
    assert [(b.period, b.granted_bytes, b.left_bytes) for b in rollovers] == [
        ("2026-01", 3 * GB, 0),  # expired at February's close
        ("2026-02", 10 * GB, 10 * GB),
    ]
    # Cron also opens each planned household's current period (March).
    alpha, beta = households
    for household in (alpha, beta):
        household.refresh_from_db()
        assert household.opened_through == "2026-03"


def test_a_second_run_says_nothing_to_close_and_changes_nothing(households):
    run("rollover")
    before = snapshot()

    out, err = run("rollover")

    assert (out, err) == (NOTHING + "\n", "")
    assert snapshot() == before


def test_verbosity_0_prints_nothing_and_still_closes(households):
    out, err = run("rollover", verbosity=0)

    assert (out, err) == ("", "")
    assert len(closes()) == 4


def test_dry_run_writes_nothing_and_prints_the_figures_of_the_real_run(households):
    before = snapshot()

    dry, _ = run("rollover", "--dry-run")

    assert snapshot() == before
    assert dry.splitlines() == [
        ALPHA.replace(": closed", ": would close"),
        BETA.replace(": closed", ": would close"),
        "Dry run, nothing written: " + SUMMARY.replace("closed", "would close"),
    ]
    real, _ = run("rollover")
    expected = dry.replace("would close", "closed").replace("Dry run, nothing written: ", "")
    assert real == expected


def test_through_closes_no_later_period(households):
    out, _ = run("rollover", "--through", "2026-01")

    assert out.splitlines() == [
        "alpha: closed 2026-01 rolled 3.00 GB (3000000000 bytes), expired 0 B (0 bytes)",
        "beta: closed 2026-01 rolled 0 B (0 bytes), expired 15.0 GB (15000000000 bytes)",
        "2 household(s) closed (2 period(s)), rolled 3.00 GB (3000000000 bytes), "
        "expired 15.0 GB (15000000000 bytes), 0 failed.",
    ]
    assert [c[:2] for c in closes()] == [("alpha", "2026-01"), ("beta", "2026-01")]

    # The next run catches up on February.
    out, _ = run("rollover")
    assert out.splitlines()[-1] == (
        "2 household(s) closed (2 period(s)), rolled 10.0 GB (10000000000 bytes), "
        "expired 23.0 GB (23000000000 bytes), 0 failed."
    )
    assert len(closes()) == 4


def test_household_closes_only_that_household(households):
    out, _ = run("rollover", "--household", "beta")

    assert out.splitlines() == [
        BETA,
        "1 household(s) closed (2 period(s)), rolled 0 B (0 bytes), "
        "expired 35.0 GB (35000000000 bytes), 0 failed.",
    ]
    assert closes("alpha") == []
    assert [c[1] for c in closes("beta")] == ["2026-01", "2026-02"]


def test_a_period_closes_once_its_48_hour_grace_has_passed(clock, households):
    clock.set(datetime(2026, 2, 2, 22, 59, tzinfo=UTC))  # one minute before
    out, _ = run("rollover")
    assert out == NOTHING + "\n"
    assert closes() == []

    clock.set(JAN_DUE)
    out, _ = run("rollover")
    assert out.splitlines()[-1].startswith("2 household(s) closed (2 period(s))")
    assert [c[1] for c in closes()] == ["2026-01", "2026-01"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--through", "2026-13"], "--through: must be YYYY-MM with a month from 01 to 12 "),
        (["--through", "March"], "--through: must be YYYY-MM ('March')"),
        (["--through", "2026-3"], "--through: must be YYYY-MM ('2026-3')"),
        (["--household", "nosuch"], "household: no such household (nosuch)"),
        (["--bogus"], "Error: unrecognized arguments: --bogus"),
    ],
)
def test_a_bad_option_is_refused_naming_it_and_nothing_closes(households, args, message):
    error, out, err = refused("rollover", *args)

    assert str(error).startswith(message)
    assert "\n" not in str(error)
    assert (out, err) == ("", "")
    assert closes() == []


def test_a_failing_household_stops_no_other_and_exits_1(households):
    # stray's plan starts in 2026-02 but its start period was moved back to 2026-01:
    # January has no terms to close with. alpha and beta close all the same.
    stray = household_with_plan(slug="stray", start_period="2026-02")
    stray.start_period = "2026-01"
    stray.save()

    error, out, err = failed("rollover")

    assert error.returncode == 1
    assert str(error) == "1 household(s) failed to close."
    assert err == (
        "stray: failed, nothing closed: plan: the household has no plan for this period (2026-01)\n"
    )
    assert out.splitlines() == [ALPHA, BETA, SUMMARY.replace("0 failed", "1 failed")]
    assert [c[0] for c in closes()] == ["alpha", "alpha", "beta", "beta"]
    assert Bucket.objects.filter(household=stray).count() == 0


def test_at_verbosity_0_only_the_failure_is_printed_on_stderr(households, monkeypatch):
    alpha, _ = households
    original = closing.close_round

    def close_round(pairs, terms, now):
        if (alpha, Period(2026, 2)) in pairs:
            raise DatabaseError("disk full")
        return original(pairs, terms, now)

    monkeypatch.setattr(closing, "close_round", close_round)

    error, out, err = failed("rollover", verbosity=0)

    assert error.returncode == 1
    assert out == ""
    assert err == "alpha: failed, nothing closed: disk full\n"
    # alpha keeps no part of its close, January's included; beta closed both periods.
    assert closes() == [("beta", "2026-01", 0, 15 * GB), ("beta", "2026-02", 0, 20 * GB)]


def test_from_the_shell_a_user_error_is_one_line_and_a_non_zero_exit(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'datapool.sqlite3'}",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert manage("migrate", "--verbosity", "0").returncode == 0
    done = manage("rollover", "--household", "nosuch")

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "CommandError: household: no such household (nosuch)\n"


def test_each_batch_closes_with_the_collector_paused_and_it_runs_between(households, monkeypatch):
    seen = []
    original = cron.close_batch

    def close_batch(batch, **options):
        seen.append(gc.isenabled())
        return original(batch, **options)

    monkeypatch.setattr(cron, "close_batch", close_batch)

    run("rollover", verbosity=0)

    assert seen == [False]  # both households in one batch
    assert gc.isenabled()
    assert [c[0] for c in closes()] == ["alpha", "alpha", "beta", "beta"]
