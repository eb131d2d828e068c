"""``demo`` (SPEC §3): a demo household for development, never by accident in production."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Household, Member
from plans.models import PeriodClose
from tests.factories import HouseholdFactory
from tests.integration.commands.helpers import refused, run, snapshot
from usage.ledger import find_violations
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

LOGINS = [
    "Open http://127.0.0.1:8000/ and sign in as:",
    "  marie / demo-marie",
    "  paul / demo-paul",
    "  lea / demo-lea",
    "  hugo / demo-hugo",
]


def periods_with_usage() -> list[str]:
    return sorted(set(UsageRecord.objects.values_list("period", flat=True)))


def closed_periods() -> list[str]:
    return list(PeriodClose.objects.order_by("period").values_list("period", flat=True))


def test_refused_when_debug_is_off_without_force(settings, clock):
    settings.DEBUG = False

    error, out, _ = refused("demo")

    assert str(error) == "demo is for development: DEBUG is off (use --force to run anyway)."
    assert out == ""
    assert not Household.objects.exists()


def test_force_builds_the_demo_and_prints_the_logins(settings, clock):
    # The clock says 2026-03-05: the demo starts three periods back, in 2025-12, and
    # the periods past their grace (December to February) are closed.
    settings.DEBUG = False

    out, err = run("demo", "--force")

    assert out.splitlines() == ["Demo household 'Famille Demo' created.", *LOGINS]
    assert err == ""
    household = Household.objects.get(slug="demo")
    assert household.start_period == "2025-12"
    assert periods_with_usage() == ["2025-12", "2026-01", "2026-02", "2026-03"]
    assert closed_periods() == ["2025-12", "2026-01", "2026-02"]
    assert not UsageRecord.objects.filter(started_at__gt=clock.now).exists()
    # Every printed login works; the owner may use the admin.
    members = Member.objects.filter(household=household).select_related("user")
    assert sorted(m.username for m in members) == ["hugo", "lea", "marie", "paul"]
    for member in members:
        assert member.user.check_password(f"demo-{member.username}")
    owner = members.get(role="owner").user
    assert (owner.username, owner.is_staff, owner.is_superuser) == ("marie", True, True)
    assert find_violations() == []
    assert run("check_ledger") == ("Ledger clean: every invariant holds.\n", "")

    # --if-empty: a household exists, nothing is added; the logins are repeated.
    before = snapshot()
    out, _ = run("demo", "--force", "--if-empty")
    assert out.splitlines() == ["Households exist already; no demo data added.", *LOGINS]
    assert snapshot() == before

    # Without --if-empty a second demo is refused.
    error, _, _ = refused("demo", "--force")
    assert str(error) == "household: a household with slug 'demo' exists already"


def test_reset_rebuilds_the_demo_and_leaves_other_households_alone(settings, clock):
    settings.DEBUG = True
    HouseholdFactory(slug="keep")
    run("demo")
    users = get_user_model().objects.count()
    clock.set(datetime(2026, 4, 2, 12, tzinfo=UTC))  # a month later: start 2026-01

    out, _ = run("demo", "--reset")

    assert out.splitlines() == [
        "Demo household deleted.",
        "Demo household 'Famille Demo' created.",
        *LOGINS,
    ]
    assert sorted(Household.objects.values_list("slug", flat=True)) == ["demo", "keep"]
    assert Household.objects.get(slug="demo").start_period == "2026-01"
    assert periods_with_usage() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    # March ended on 03-31 22:00 UTC: on 04-02 12:00 it is still in its grace.
    assert closed_periods() == ["2026-01", "2026-02"]
    assert get_user_model().objects.count() == users
    assert find_violations() == []


def test_with_debug_on_no_force_is_needed_and_if_empty_respects_other_households(settings, clock):
    settings.DEBUG = True
    HouseholdFactory(slug="dupont")
    before = snapshot()

    out, err = run("demo", "--if-empty")

    # No demo household exists, so there are no logins to print.
    assert (out, err) == ("Households exist already; no demo data added.\n", "")
    assert snapshot() == before


def test_a_bad_option_is_refused(settings, clock):
    settings.DEBUG = True

    error, _, _ = refused("demo", "--households", "3")

    assert str(error) == "Error: unrecognized arguments: --households 3"
