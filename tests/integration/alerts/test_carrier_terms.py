"""Alerts and emails under the carrier terms: the fair-use alert per member (SPEC R10)
and the words for uncovered bytes (R12). The domestic bytes a roaming record drew are
set on the rows directly here (the allocation fills them)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import translation

from plans.services import lock_household
from tests.factories import GB, MB
from tests.integration.alerts.conftest import JAN_20, PARIS, delivered_to, fired, make_family
from usage import alerts
from usage.alerts import rules
from usage.models import Alert, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("used", "volume", "percent", "fires"),
    [
        (None, 10 * GB, 80, False),  # no roaming from the domestic pool
        (0, 10 * GB, 80, False),
        (7999 * MB, 10 * GB, 80, False),
        (8 * GB, 10 * GB, 80, True),
        (10 * GB, 10 * GB, 100, True),
        (5 * GB, None, 80, False),  # no limit
    ],
)
def test_the_fair_use_rule(used, volume, percent, fires):
    assert rules.fair_use_near(used=used, volume=volume, percent=percent) is fires


def roamed(record, member, amount: int):
    """``member`` roams ``amount``, all of it from the domestic pool (no roaming
    allowance: the allocation draws on the domestic buckets, R10)."""
    row = record(member, amount, zone="roaming")
    assert UsageRecord.objects.get(pk=row.pk).from_domestic_bytes == amount
    return row


def evaluate(django_capture_on_commit_callbacks, household) -> list[Alert]:
    with django_capture_on_commit_callbacks(execute=True):
        return alerts.evaluate(lock_household(household), now=JAN_20)


def test_a_member_near_and_at_their_fair_use_volume_hears_of_it(
    record, mailoutbox, django_capture_on_commit_callbacks
):
    family = make_family(
        roaming_allowance_bytes=0, roaming_mode="from_domestic", roaming_fair_use_bytes=5 * GB
    )
    mailoutbox.clear()
    roamed(record, family.paul, 4 * GB)  # 80 %: near, alerted as it is recorded

    assert fired(family.household, "fair_use") == [
        ("fair_use", f"member:{family.paul.pk}", 80, "2026-01")
    ]
    found = Alert.objects.filter(household=family.household, kind="fair_use")
    assert delivered_to(found.get()) == ["Olga", "Paul"]
    body = next(m.body for m in mailoutbox if m.to[0].startswith("paul"))
    assert (
        "Paul has used 4.00\xa0GB of the 5.00\xa0GB usable abroad this period (80 % or more)"
    ) in body
    # Once only; then at 100 % once more.
    assert evaluate(django_capture_on_commit_callbacks, family.household) == []
    roamed(record, family.paul, 1 * GB)
    assert [t for _, _, t, _ in fired(family.household, "fair_use")] == [80, 100]


def test_no_fair_use_alert_without_a_volume_or_in_separate_mode(
    record, django_capture_on_commit_callbacks
):
    unlimited = make_family(roaming_allowance_bytes=0, roaming_mode="from_domestic")
    roamed(record, unlimited.paul, 4 * GB)
    separate = make_family(roaming_allowance_bytes=10 * GB)
    record(separate.paul, 4 * GB, zone="roaming")

    for family in (unlimited, separate):
        evaluate(django_capture_on_commit_callbacks, family.household)
        assert fired(family.household, "fair_use") == []


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("overage", "beyond the pool, billed"),
        ("slowed", "at reduced speed"),
        ("blocked", "blocked"),
    ],
)
def test_the_empty_pool_email_names_what_follows_as_the_plan_says(record, mailoutbox, when, words):
    family = make_family(when_pool_is_empty=when)
    record(family.paul, 10 * GB)
    record(family.paul, 1 * GB, zone="roaming")

    bodies = {m.subject.rsplit(": ", 1)[1]: m.body for m in mailoutbox if "olga" in m.to[0]}
    assert (
        f"The family's domestic data is used up for this period: from now on usage is {words}."
    ) in bodies["Domestic pool empty"]
    assert (
        f"Roaming data is used up for this period: from now on roaming usage is {words}."
    ) in bodies["Roaming data empty"]


def test_the_words_in_french(record, mailoutbox):
    family = make_family(when_pool_is_empty="slowed")
    family.owner.language = "fr"
    family.owner.save()
    record(family.paul, 10 * GB)

    to_olga = [m for m in mailoutbox if m.to[0].startswith("olga")]
    body = next(m.body for m in to_olga if "épuisées" in m.subject)
    translation.activate("en")
    assert "à débit réduit" in body


def test_the_close_email_names_the_uncovered_bytes_as_the_plan_said(record, mailoutbox):
    family = make_family(when_pool_is_empty="slowed")
    record(family.paul, 11 * GB)  # 1 GB beyond the pool
    mailoutbox.clear()
    record(family.max, 1 * GB, at=datetime(2026, 2, 6, tzinfo=PARIS))  # closes January

    body = next(m.body for m in mailoutbox if m.subject.endswith("Period closed"))
    assert "Not covered by the pool: 1.00\xa0GB at reduced speed." in body
