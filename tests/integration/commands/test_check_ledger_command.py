"""``check_ledger`` options beyond tests/integration/usage/test_check_ledger.py:
``--household``, verbosity, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import F

from plans.models import Bucket
from tests.factories import GB, MemberFactory, household_with_plan
from tests.integration.commands.helpers import failed, refused, run
from usage.services import record_usage

pytestmark = pytest.mark.django_db

JAN_10 = datetime(2026, 1, 10, tzinfo=UTC)
CLEAN = "Ledger clean: every invariant holds.\n"


@pytest.fixture
def households(clock):
    """alpha and beta: 10 GB each, 4 GB used in January."""
    found = []
    for slug in ("alpha", "beta"):
        household = household_with_plan(slug=slug, monthly_allowance_bytes=10 * GB)
        record_usage(MemberFactory(household=household), bytes=4 * GB, at=JAN_10, now=JAN_10)
        found.append(household)
    return found


def break_allowance(household) -> Bucket:
    """Move a byte out of the allowance without a ledger entry."""
    allowance = Bucket.objects.get(household=household, kind="allowance", zone="domestic")
    Bucket.objects.filter(pk=allowance.pk).update(
        allocated_bytes=F("allocated_bytes") + 1, left_bytes=F("left_bytes") - 1
    )
    return allowance


def test_a_clean_household_passes(households):
    assert run("check_ledger", "--household", "alpha") == (CLEAN, "")
    assert run("check_ledger") == (CLEAN, "")


def test_verbosity_0_prints_nothing_when_clean(households):
    assert run("check_ledger", verbosity=0) == ("", "")


@pytest.mark.ledger_dirty
def test_household_checks_only_that_household(households):
    _, beta = households
    allowance = break_allowance(beta)

    # alpha is clean whatever beta's state.
    assert run("check_ledger", "--household", "alpha") == (CLEAN, "")

    error, out, err = failed("check_ledger", "--household", "beta")
    assert error.returncode == 1
    assert str(error) == "2 violation(s) found."
    assert out == ""
    subject = f"beta: bucket #{allowance.pk} (allowance domestic 2026-01): allocated_bytes"
    assert err.splitlines() == [
        f"{subject} equals its allocation ledger entries: expected {4 * GB}, found {4 * GB + 1}",
        f"{subject} equals its allocations: expected {4 * GB}, found {4 * GB + 1}",
    ]

    # The whole database: the same violations, beta's only.
    _, _, everything = failed("check_ledger")
    assert everything == err


@pytest.mark.ledger_dirty
def test_violations_are_listed_even_at_verbosity_0(households):
    _, beta = households
    break_allowance(beta)

    error, out, err = failed("check_ledger", verbosity=0)

    assert error.returncode == 1
    assert out == ""
    assert err.startswith("beta: bucket #")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--household", "nosuch"], "household: no such household (nosuch)"),
        (["--household"], "Error: argument --household: expected one argument"),
        (["--fix"], "Error: unrecognized arguments: --fix"),
    ],
)
def test_an_unknown_household_or_option_is_refused(households, args, message):
    error, out, err = refused("check_ledger", *args)

    assert str(error) == message
    assert (out, err) == ("", "")
