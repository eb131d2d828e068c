"""``grant`` (SPEC §3, R2): add-on packs and bonuses from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.services import close_periods
from tests.factories import GB, MB, HouseholdFactory, household_with_plan
from tests.integration.commands.helpers import refused, run

pytestmark = pytest.mark.django_db

# The clock fixture says 2026-03-05T12:00Z, 13:00 in Paris (+01:00); March ends on
# 2026-04-01T00:00+02:00 (summer time from 2026-03-29).
NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)


@pytest.fixture
def household(clock):
    return household_with_plan(slug="dupont", monthly_allowance_bytes=10 * GB)


def granted() -> list[tuple]:
    return list(
        Bucket.objects.filter(kind__in=["addon", "bonus"])
        .order_by("pk")
        .values_list("kind", "zone", "granted_bytes", "left_bytes", "valid_from", "expires_at")
    )


@pytest.mark.parametrize(
    ("amount", "expected", "shown"),
    [
        ("5GB", 5 * GB, "5.00 GB"),
        ("500MB", 500 * MB, "500 MB"),
        ("123456789", 123456789, "123 MB"),
        ("1.5GB", 1500 * MB, "1.50 GB"),
        ("2 gb", 2 * GB, "2.00 GB"),
    ],
)
def test_bytes_are_digits_or_an_amount_with_a_unit(household, amount, expected, shown):
    out, err = run("grant", "dupont", "--kind", "addon", "--zone", "domestic", "--bytes", amount)

    bucket = Bucket.objects.get(kind="addon")
    assert (bucket.granted_bytes, bucket.left_bytes) == (expected, expected)
    assert out == (
        f"Granted add-on bucket #{bucket.pk} to dupont: {shown} ({expected} bytes) domestic, "
        "valid from 2026-03-05T13:00:00+01:00 until 2026-04-01T00:00:00+02:00.\n"
    )
    assert err == ""
    # R2: from the grant time to the end of its period, with its ledger entry.
    assert (bucket.valid_from, bucket.expires_at) == (NOW, datetime(2026, 3, 31, 22, tzinfo=UTC))
    entry = LedgerEntry.objects.get(bucket=bucket)
    assert (entry.kind, entry.bytes) == ("grant", expected)


def test_a_naive_at_is_read_in_the_household_zone_and_expires_at_is_kept(household):
    out, _ = run(
        "grant",
        "dupont",
        "--kind=bonus",
        "--zone=roaming",
        "--bytes=1GB",
        "--at=2026-03-10T08:00",
        "--expires-at=2026-05-01T00:00:00+02:00",
        "--note=Spring promotion",
    )

    bucket = Bucket.objects.get(kind="bonus")
    # 08:00 in Paris in March (+01:00) is 07:00 UTC.
    assert bucket.valid_from == datetime(2026, 3, 10, 7, tzinfo=UTC)
    assert bucket.expires_at == datetime(2026, 4, 30, 22, tzinfo=UTC)
    assert (bucket.zone, bucket.note, bucket.period) == ("roaming", "Spring promotion", "2026-03")
    assert out == (
        f"Granted bonus bucket #{bucket.pk} to dupont: 1.00 GB (1000000000 bytes) roaming, "
        "valid from 2026-03-10T08:00:00+01:00 until 2026-05-01T00:00:00+02:00.\n"
    )


def test_an_at_with_an_offset_is_kept_as_that_instant(household):
    run("grant", "dupont", "--kind=addon", "--zone=domestic", "--bytes=1GB")
    run(
        "grant", "dupont", "--kind=addon", "--zone=domestic", "--bytes=1GB",
        "--at=2026-03-20T08:00:00-05:00",
    )  # fmt: skip

    assert [row[4] for row in granted()] == [NOW, datetime(2026, 3, 20, 13, tzinfo=UTC)]


def test_running_it_twice_grants_twice_never_merging(household):
    # SPEC R2 / PITFALLS: every grant is its own bucket with its own expiry.
    args = ("grant", "dupont", "--kind=addon", "--zone=domestic", "--bytes=1GB")
    run(*args)
    run(*args)

    assert [row[2] for row in granted()] == [GB, GB]
    assert LedgerEntry.objects.filter(kind="grant", bucket__kind="addon").count() == 2


def test_a_grant_first_closes_the_periods_past_their_grace(household):
    # SPEC R4.6: on 2026-03-05 January and February are past their grace.
    run("grant", "dupont", "--kind=addon", "--zone=domestic", "--bytes=1GB")

    assert list(PeriodClose.objects.values_list("period", flat=True).order_by("period")) == [
        "2026-01",
        "2026-02",
    ]


GOOD = {"--kind": "addon", "--zone": "domestic", "--bytes": "1GB"}


def options(**changes) -> list[str]:
    values = {**GOOD, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
    return [f"{key}={value}" for key, value in values.items() if value is not None]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            options(bytes="5XB"),
            "--bytes: must be bytes, or an amount with a unit such as 500MB or 5GB (5XB)",
        ),
        (
            options(bytes="five"),
            "--bytes: must be bytes, or an amount with a unit such as 500MB or 5GB (five)",
        ),
        (
            options(bytes="-1GB"),
            "--bytes: must be bytes, or an amount with a unit such as 500MB or 5GB (-1GB)",
        ),
        (options(bytes="1.5"), "--bytes: is not a whole number of bytes (1.5)"),
        (options(bytes="0"), "bytes: must be from 1 to 10^13 bytes (0)"),
        (options(bytes="11TB"), "bytes: must be from 1 to 10^13 bytes (11000000000000)"),
        (options(at="tomorrow"), "--at: must be an ISO 8601 date and time (tomorrow)"),
        (
            options(expires_at="2026-13-01"),
            "--expires-at: must be an ISO 8601 date and time (2026-13-01)",
        ),
        (
            options(at="2026-03-10T08:00", expires_at="2026-03-10T07:59"),
            "expires_at: must be after the grant time 2026-03-10T08:00:00+01:00 "
            "(2026-03-10T07:59:00+01:00)",
        ),
        (
            options(at="2025-12-31T23:00"),
            "at: is before the household's start period 2026-01 (2025-12-31T23:00:00+01:00)",
        ),
        (
            options(note="x" * 201),
            "note: must be at most 200 characters (" + "x" * 40 + "…)",
        ),
        (
            options(kind="allowance"),
            "Error: argument --kind: invalid choice: 'allowance' (choose from addon, bonus)",
        ),
        (
            options(zone="moon"),
            "Error: argument --zone: invalid choice: 'moon' (choose from domestic, roaming)",
        ),
        (options(bytes=None), "Error: the following arguments are required: --bytes"),
    ],
)
def test_bad_options_are_refused_naming_the_option_and_the_value(household, args, message):
    error, out, err = refused("grant", "dupont", *args)

    # argparse quotes the choices or not depending on the Python version.
    assert str(error).replace("'", "") == message.replace("'", "")
    assert (out, err) == ("", "")
    # A refused grant closes nothing either (R4.6).
    assert PeriodClose.objects.count() == 0


def test_an_unknown_household_is_refused(household):
    error, _, _ = refused("grant", "nosuch", *options())

    assert str(error) == "household: no such household (nosuch)"


def test_a_grant_in_a_closed_period_is_refused(household):
    close_periods(through=None, now=NOW)  # January and February close

    error, _, _ = refused("grant", "dupont", *options(at="2026-02-20T10:00"))

    assert str(error) == (
        "at: falls in period 2026-02, which is closed (2026-02-20T10:00:00+01:00)"
    )


def test_a_household_without_a_plan_is_refused(clock):
    HouseholdFactory(slug="bare")

    error, _, _ = refused("grant", "bare", *options())

    assert str(error) == "plan: the household has no plan yet (bare)"


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:00"]
)
def test_a_time_outside_the_calendar_is_refused_without_a_traceback(household, at):
    # Period arithmetic cannot place year 1 or December 9999 (no next period): the
    # command must name --at, not crash with OverflowError / ValueError.
    error, _, _ = refused("grant", "dupont", *options(at=at))

    assert str(error).split(":")[0] in {"at", "--at"}
    assert "\n" not in str(error)
