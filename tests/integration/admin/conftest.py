"""Fixtures for the admin tests: a clock the admin reads, two households A and B.

The admin takes no ``now``: its views and the services they call read
``timezone.now()``, so the tests patch it (as the page and command tests do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from accounts.models import Household, Member
from plans.models import Bucket
from plans.services import grant
from tests.clock import Clock
from tests.factories import GB, MemberFactory, UserFactory, household_with_plan
from usage.models import UsageRecord
from usage.services import record_usage

# 2026-03-15 13:00 in Paris: the current period is 2026-03.
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    fixed = Clock(NOW)
    monkeypatch.setattr(timezone, "now", lambda: fixed.now)
    return fixed


def record(member: Member, amount: int, at: datetime, ref: str, zone: str = "domestic"):
    """Usage recorded as it happened, at ``at`` (lazily closing what is due then)."""
    return record_usage(member, bytes=amount, zone=zone, at=at, ref=ref, now=at)


@dataclass
class Family:
    household: Household
    owner: Member
    member: Member
    addon: Bucket  # a 1 GB add-on granted this period
    rollover: Bucket  # the rollover bucket valid now (from the 2026-02 close)
    record: UsageRecord  # this period's last usage record


def make_family(slug: str, owner: str, member: str, allowance: int, used: list[int]) -> Family:
    """A household started 2026-01 with rollover for 2 periods, its owner and a member.

    ``used`` is the member's domestic usage on the 10th of January, February and March
    (each record also closes the period before it, whose grace has passed): the
    January and February closes roll ``allowance - used`` over.
    """
    household = household_with_plan(
        slug=slug, monthly_allowance_bytes=allowance, rollover=True, rollover_months=2
    )
    owner_member = MemberFactory(
        household=household, user__username=owner, display_name=owner.title(), role="owner"
    )
    plain = MemberFactory(household=household, user__username=member)
    last = None
    for month, amount in zip((1, 2, 3), used, strict=True):
        at = datetime(2026, month, 10, 9, tzinfo=UTC)
        last = record(plain, amount, at, ref=f"{slug}-ref-{month}")
    addon = grant(household, kind="addon", zone="domestic", bytes=GB, note=f"{slug} pack", now=NOW)
    rollover = Bucket.objects.filter(household=household, kind="rollover").last()
    return Family(household, owner_member, plain, addon, rollover, last)


@pytest.fixture
def alpha(clock) -> Family:
    """Household A: 10 GB a month; the member used 7, 4 and 2 GB (Jan, Feb, Mar)."""
    return make_family("alpha", "anna", "ben", 10 * GB, [7 * GB, 4 * GB, 2 * GB])


@pytest.fixture
def bravo(clock) -> Family:
    """Household B: 20 GB a month; the member used 5, 6 and 1 GB (Jan, Feb, Mar)."""
    return make_family("bravo", "bruno", "bella", 20 * GB, [5 * GB, 6 * GB, 1 * GB])


@pytest.fixture
def owner_client(client, alpha):
    """A's owner, signed in."""
    client.force_login(alpha.owner.user)
    return client


@pytest.fixture
def member_client(client, alpha):
    """A's plain member, signed in."""
    client.force_login(alpha.member.user)
    return client


@pytest.fixture
def superuser_client(client, clock):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client
