"""Fixtures for the family pages: a clock the views read, a household with history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.template import loader
from django.utils import timezone

from accounts.models import Household, Member
from plans.services import grant
from tests.clock import Clock
from tests.factories import GB, MB, MemberFactory, household_with_plan
from tests.integration.pages.helpers import record

# 2026-03-15 13:00 in Paris: the current period is 2026-03, January and February are
# closed by the usage recorded after their grace.
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The views take no ``now``: they (and the services they call) read
    ``timezone.now()`` at call time, so patching the module attribute reaches them."""
    fixed = Clock(NOW)
    monkeypatch.setattr(timezone, "now", lambda: fixed.now)
    return fixed


@dataclass
class Family:
    household: Household
    owner: Member  # marie
    member: Member  # paul
    capped: Member  # lea, 3 GB cap, block


@pytest.fixture
def family(clock) -> Family:
    """Famille Martin, start 2026-01, 10 GB domestic and 2 GB roaming a month, rollover
    for 2 periods, used from the allowance first (``rollover_last``).

    - 2026-01: marie 7 GB -> 3 GB roll into Feb-Mar; 2 GB roaming expire.
    - 2026-02: marie 4 GB -> 6 GB roll into Mar-Apr; 2 GB roaming expire.
    - 2026-03 (now): marie 2 GB, paul 1.5 GB domestic + 500 MB roaming, lea 3.5 GB
      (cap 3 GB, block: 500 MB overage); a 1 GB add-on.
      Allowance 10 - 2 - 1.5 - 3 = 3.5 GB left; rollover 3 + 6 = 9 GB; add-on 1 GB:
      domestic 13.5 GB left; roaming 1.5 GB left.
    """
    household = household_with_plan(
        slug="martin",
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=2 * GB,
        rollover=True,
        rollover_months=2,
        consumption_order="rollover_last",
    )
    owner = MemberFactory(
        household=household, user__username="marie", display_name="Marie", role="owner"
    )
    member = MemberFactory(household=household, user__username="paul", display_name="Paul")
    capped = MemberFactory(
        household=household,
        user__username="lea",
        display_name="Léa",
        monthly_cap_bytes=3 * GB,
        cap_action="block",
    )
    record(owner, 7 * GB, datetime(2026, 1, 10, 9, tzinfo=UTC))
    record(owner, 4 * GB, datetime(2026, 2, 10, 9, tzinfo=UTC))
    record(owner, 2 * GB, datetime(2026, 3, 10, 9, tzinfo=UTC))
    record(member, 1500 * MB, datetime(2026, 3, 11, 9, tzinfo=UTC))
    record(member, 500 * MB, datetime(2026, 3, 12, 9, tzinfo=UTC), zone="roaming")
    record(capped, 3500 * MB, datetime(2026, 3, 13, 9, tzinfo=UTC))
    grant(household, kind="addon", zone="domestic", bytes=1 * GB, note="Ski trip", now=NOW)
    return Family(household, owner, member, capped)


@pytest.fixture
def other_family(clock) -> Family:
    """Famille Durand, another household with its own usage this period."""
    household = household_with_plan(slug="durand", monthly_allowance_bytes=50 * GB)
    owner = MemberFactory(
        household=household, user__username="zoe", display_name="Zoé", role="owner"
    )
    member = MemberFactory(household=household, user__username="yann", display_name="Yann")
    capped = MemberFactory(
        household=household,
        user__username="xavier",
        display_name="Xavier",
        monthly_cap_bytes=7 * GB,
    )
    record(owner, 21 * GB, datetime(2026, 3, 9, 9, tzinfo=UTC))
    record(member, 8 * GB, datetime(2026, 3, 9, 10, tzinfo=UTC))
    return Family(household, owner, member, capped)


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The template names the views render. A partial (``page.html#region``) renders
    without Django's ``template_rendered`` signal, so ``response.templates`` misses it:
    record what ``render()`` asks the loader for instead."""
    names: list[str] = []
    original = loader.render_to_string

    def spy(template_name, *args, **kwargs):
        names.append(template_name)
        return original(template_name, *args, **kwargs)

    monkeypatch.setattr(loader, "render_to_string", spy)
    return names
