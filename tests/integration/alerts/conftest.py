"""Fixtures for the alert tests: a family whose emails go to the locmem outbox.

Alert emails leave on commit; inside a test's transaction nothing commits, so
``record`` runs each write under ``django_capture_on_commit_callbacks(execute=True)``,
which plays the commit's callbacks as soon as the write returns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Household, Member
from tests.factories import GB, MemberFactory, household_with_plan
from usage import alerts
from usage.models import Alert, AlertDelivery
from usage.services import record_usage

PARIS = ZoneInfo("Europe/Paris")
JAN_20 = datetime(2026, 1, 20, 12, tzinfo=PARIS)


@dataclass
class Family:
    household: Household
    owner: Member  # olga
    paul: Member
    max: Member
    lea: Member  # a 5 GB cap that only notifies


def make_family(**terms) -> Family:
    """A household (start 2026-01, Europe/Paris, 10 GB domestic and 1 GB roaming a month
    unless ``terms`` say otherwise) with an owner, two members and a capped member."""
    terms = {"monthly_allowance_bytes": 10 * GB, "roaming_allowance_bytes": 1 * GB, **terms}
    household = household_with_plan(**terms)

    def member(username: str, **fields) -> Member:
        return MemberFactory(
            household=household,
            user__username=f"{username}-{household.slug}",
            display_name=username.title(),
            **fields,
        )

    return Family(
        household,
        member("olga", role="owner"),
        member("paul"),
        member("max"),
        member("lea", monthly_cap_bytes=5 * GB),
    )


@pytest.fixture
def family(db) -> Family:
    return make_family()


@pytest.fixture
def record(django_capture_on_commit_callbacks):
    """``record(member, bytes, at=..., zone=...)``: record usage as it happens (``now`` is
    ``at``) and play what the commit would have run (the alert emails). Each call has a
    ref of its own, so equal records are not taken for a replay."""
    refs = itertools.count(1)

    def run(member: Member, amount: int, *, at: datetime = JAN_20, zone: str = "domestic"):
        with django_capture_on_commit_callbacks(execute=True):
            return record_usage(
                member, bytes=amount, zone=zone, at=at, now=at, ref=f"phone-{next(refs)}"
            )

    return run


@pytest.fixture
def check_all(django_capture_on_commit_callbacks):
    """The daily run at ``now``, with its commit's emails sent."""

    def run(now: datetime) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return alerts.check_all(now=now)

    return run


def fired(household: Household, kind: str | None = None) -> list[tuple]:
    """(kind, subject, threshold, period) of the household's alerts, oldest first."""
    rows = Alert.objects.filter(household=household)
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows.order_by("id").values_list("kind", "subject", "threshold", "period"))


def delivered_to(alert: Alert) -> list[str]:
    """The display names the alert was delivered to, sorted."""
    return sorted(
        d.member.name for d in AlertDelivery.objects.filter(alert=alert).select_related("member")
    )


def inbox(mailoutbox) -> list[tuple[str, str]]:
    """(recipient's username before the household suffix, subject) of every email sent."""
    return sorted((m.to[0].split("-family")[0], m.subject) for m in mailoutbox)
