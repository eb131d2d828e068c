"""Each alert fires once at its threshold: not before, not twice (issue #6).

The family: 10 GB domestic and 1 GB roaming a month, owner Olga, members Paul and Max,
Léa with a 5 GB cap that only notifies. Every write below is "now" at its own instant.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from plans import services as plan_services
from tests.factories import GB, MB, MemberFactory
from tests.integration.alerts.conftest import PARIS, delivered_to, fired, inbox, make_family
from usage.models import Alert, AlertDelivery, AlertSettings

pytestmark = pytest.mark.django_db

EVERYONE = ["Lea", "Max", "Olga", "Paul"]


def test_pool_low_at_20_percent_left_then_empty_at_zero_each_once(family, record, mailoutbox):
    """10 GB pool: 7.9 GB used -> nothing; 8 GB -> pool_low, 2 GB left of 10 GB, to all
    four members; 9 GB -> still one; 10 GB -> pool_empty; 10.5 GB (overage) -> nothing."""
    household = family.household
    record(family.paul, 7900 * MB)
    assert fired(household) == []
    assert mailoutbox == []

    record(family.max, 100 * MB)  # 8 GB used, 2 GB left: 2 / 10 = 20 %
    assert fired(household) == [("pool_low", "domestic", 20, "2026-01")]
    low = Alert.objects.get(kind="pool_low")
    assert low.figures == {
        "granted_bytes": 10 * GB,
        "left_bytes": 2 * GB,
        "when_pool_is_empty": "overage",
    }
    assert delivered_to(low) == EVERYONE
    assert len(mailoutbox) == 4
    assert {m.subject for m in mailoutbox} == {f"Datapool · {household.name}: Domestic pool low"}
    assert "running low: 2.00\xa0GB left of 10.0\xa0GB this period (20 % or less)." in (
        mailoutbox[0].body
    )
    assert "http://127.0.0.1:8000/" in mailoutbox[0].body  # SITE_URL: the dashboard

    record(family.paul, 1 * GB)  # 9 GB used, 1 GB left
    assert fired(household) == [("pool_low", "domestic", 20, "2026-01")]
    assert len(mailoutbox) == 4

    record(family.paul, 1 * GB)  # 10 GB used, 0 left: overage begins
    assert fired(household) == [
        ("pool_low", "domestic", 20, "2026-01"),
        ("pool_empty", "domestic", 0, "2026-01"),
    ]
    empty = Alert.objects.get(kind="pool_empty")
    assert empty.figures == {
        "granted_bytes": 10 * GB,
        "left_bytes": 0,
        "when_pool_is_empty": "overage",
    }
    assert delivered_to(empty) == EVERYONE
    assert len(mailoutbox) == 8
    assert "used up" in mailoutbox[-1].body

    record(family.paul, 500 * MB)  # 500 MB overage
    assert len(fired(household)) == 2
    assert len(mailoutbox) == 8
    assert AlertDelivery.objects.count() == 8


def test_one_big_record_past_both_thresholds_fires_low_and_empty_together(family, record):
    """From 1 GB used straight to 12 GB (2 GB overage): both alerts, once each."""
    record(family.paul, 1 * GB)
    record(family.paul, 11 * GB)
    assert fired(family.household) == [
        ("pool_low", "domestic", 20, "2026-01"),
        ("pool_empty", "domestic", 0, "2026-01"),
    ]


def test_the_pool_counts_allowance_rollover_and_packs(record):
    """January: 4 GB used, 6 GB roll into February. February: 10 GB allowance + 6 GB
    rollover + a 4 GB add-on = 20 GB granted; 20 % is 4 GB. 15.9 GB used (4.1 GB left)
    -> nothing; 16 GB (4 GB left) -> pool_low with 4 GB left of 20 GB."""
    family = make_family(rollover=True)
    record(family.paul, 4 * GB, at=datetime(2026, 1, 10, tzinfo=PARIS))
    feb_5 = datetime(2026, 2, 5, tzinfo=PARIS)  # January's grace is over: it closes
    plan_services.grant(
        family.household, kind="addon", zone="domestic", bytes=4 * GB, at=feb_5, now=feb_5
    )
    record(family.paul, 15900 * MB, at=datetime(2026, 2, 10, tzinfo=PARIS))
    assert fired(family.household, "pool_low") == []

    record(family.max, 100 * MB, at=datetime(2026, 2, 11, tzinfo=PARIS))
    assert fired(family.household, "pool_low") == [("pool_low", "domestic", 20, "2026-02")]
    assert Alert.objects.get(kind="pool_low").figures == {
        "granted_bytes": 20 * GB,
        "left_bytes": 4 * GB,
        "when_pool_is_empty": "overage",
    }


def test_a_new_period_fires_its_own_alerts_again(record):
    """8 GB in January and 8 GB in February: pool_low once in each period."""
    family = make_family()
    record(family.paul, 8 * GB, at=datetime(2026, 1, 10, tzinfo=PARIS))
    record(family.paul, 8 * GB, at=datetime(2026, 2, 10, tzinfo=PARIS))
    record(family.paul, 1 * GB, at=datetime(2026, 2, 11, tzinfo=PARIS))
    assert fired(family.household, "pool_low") == [
        ("pool_low", "domestic", 20, "2026-01"),
        ("pool_low", "domestic", 20, "2026-02"),
    ]


def test_unlimited_domestic_data_never_runs_low(record):
    family = make_family(monthly_allowance_bytes=None)
    record(family.paul, 500 * GB)
    assert fired(family.household) == []


def test_roaming_low_and_empty_go_to_the_roamers_and_the_owner(family, record, mailoutbox):
    """1 GB roaming: Léa roams 100 MB, Paul 700 MB -> 200 MB left (20 %): roaming_low
    to Léa, Paul and Olga (the owner), not to Max who stayed home. Then Paul's 200 MB ->
    roaming_empty to the same three."""
    record(family.max, 3 * GB)  # domestic only
    record(family.lea, 100 * MB, zone="roaming")
    record(family.paul, 699 * MB, zone="roaming")  # 201 MB left: above 20 %
    assert fired(family.household) == []

    record(family.paul, 1 * MB, zone="roaming")
    assert fired(family.household) == [("roaming_low", "roaming", 20, "2026-01")]
    assert Alert.objects.get().figures == {
        "granted_bytes": 1 * GB,
        "left_bytes": 200 * MB,
        "when_pool_is_empty": "overage",
    }
    assert delivered_to(Alert.objects.get()) == ["Lea", "Olga", "Paul"]
    subject = f"Datapool · {family.household.name}: Roaming data low"
    assert inbox(mailoutbox) == [("lea", subject), ("olga", subject), ("paul", subject)]

    record(family.paul, 200 * MB, zone="roaming")
    record(family.paul, 50 * MB, zone="roaming")  # overage: nothing more
    assert fired(family.household)[1:] == [("roaming_empty", "roaming", 0, "2026-01")]
    assert delivered_to(Alert.objects.get(kind="roaming_empty")) == ["Lea", "Olga", "Paul"]
    assert len(mailoutbox) == 6


def test_roaming_without_a_roaming_allowance_is_empty_at_once(record):
    """No roaming allowance: Paul's first 10 MB abroad are overage -> roaming_empty only."""
    family = make_family(roaming_allowance_bytes=0)
    record(family.paul, 10 * MB, zone="roaming")
    assert fired(family.household) == [("roaming_empty", "roaming", 0, "2026-01")]
    assert delivered_to(Alert.objects.get()) == ["Olga", "Paul"]


def test_a_domestic_pool_of_nothing_is_empty_once_somebody_uses_it(record):
    """No allowance at home or abroad: Max's roaming empties the roaming pool but the
    domestic one stays silent while nobody used it; his first 10 MB at home empty it."""
    family = make_family(monthly_allowance_bytes=0, roaming_allowance_bytes=0)
    record(family.max, 10 * MB, zone="roaming")
    assert fired(family.household) == [("roaming_empty", "roaming", 0, "2026-01")]

    record(family.max, 10 * MB)

    assert fired(family.household)[1:] == [("pool_empty", "domestic", 0, "2026-01")]
    assert delivered_to(Alert.objects.get(kind="pool_empty")) == ["Lea", "Max", "Olga", "Paul"]


def test_cap_near_at_80_percent_and_reached_at_100_to_the_member_and_owner(
    family, record, mailoutbox
):
    """Léa's 5 GB cap: 3.9 GB -> nothing; 4 GB (80 %) -> cap_near to Léa and Olga;
    4.9 GB -> nothing more; 5 GB -> cap_reached; 6 GB -> nothing more."""
    subject = f"member:{family.lea.pk}"
    record(family.lea, 3900 * MB)
    record(family.paul, 1 * GB)  # others' usage does not count toward her cap
    assert fired(family.household) == []

    record(family.lea, 100 * MB)
    assert fired(family.household) == [("cap_near", subject, 80, "2026-01")]
    near = Alert.objects.get()
    assert near.figures == {"covered_bytes": 4 * GB, "cap_bytes": 5 * GB, "member": "Lea"}
    assert delivered_to(near) == ["Lea", "Olga"]
    assert sorted(m.to[0].split("-")[0] for m in mailoutbox) == ["lea", "olga"]
    assert "Lea has used 4.00\xa0GB of a 5.00\xa0GB monthly cap (80 % or more)." in (
        mailoutbox[0].body
    )

    record(family.lea, 900 * MB)
    assert len(fired(family.household)) == 1
    record(family.lea, 100 * MB)
    record(family.lea, 1 * GB)
    assert fired(family.household) == [
        ("cap_near", subject, 80, "2026-01"),
        ("cap_reached", subject, 100, "2026-01"),
    ]
    assert delivered_to(Alert.objects.get(kind="cap_reached")) == ["Lea", "Olga"]
    assert len(mailoutbox) == 4


def test_a_blocking_cap_is_reached_when_the_pool_stops_covering(record):
    """Sam blocks at 2 GB and records 3 GB at once: 2 GB covered, 1 GB overage; near and
    reached fire together. An owner with a cap gets each alert once."""
    family = make_family()
    sam = MemberFactory(
        household=family.household, display_name="Sam", monthly_cap_bytes=2 * GB, cap_action="block"
    )
    record(sam, 3 * GB)
    assert [k for k, *_ in fired(family.household)] == ["cap_near", "cap_reached"]
    assert Alert.objects.get(kind="cap_reached").figures["covered_bytes"] == 2 * GB

    owner = family.owner
    owner.monthly_cap_bytes = 1 * GB
    owner.save()
    record(owner, 1 * GB)
    alert = Alert.objects.get(kind="cap_reached", subject=f"member:{owner.pk}")
    assert delivered_to(alert) == ["Olga"]


def test_household_thresholds_from_alert_settings(record):
    """Pool low at 50 % and cap near at 50 % for one household: 4.9 GB of its 10 GB ->
    nothing, 5 GB -> pool_low (threshold 50). Léa at 2.5 GB of 5 GB -> cap_near (50).
    Another household on the defaults, with the same usage, gets neither."""
    family, other = make_family(), make_family()
    AlertSettings.objects.create(
        household=family.household, pool_low_percent=50, cap_near_percent=50
    )
    for f in (family, other):
        record(f.paul, 2400 * MB)
        record(f.lea, 2499 * MB)
    assert fired(family.household) == []

    for f in (family, other):
        record(f.lea, 1 * MB)  # Léa 2.5 GB of 5 GB; the pool 4.9 GB of 10 GB
    assert fired(family.household) == [("cap_near", f"member:{family.lea.pk}", 50, "2026-01")]
    for f in (family, other):
        record(f.paul, 100 * MB)  # 5 GB used, 5 GB left
    assert fired(family.household)[1:] == [("pool_low", "domestic", 50, "2026-01")]
    assert fired(other.household) == []


def test_empty_alert_settings_fields_keep_the_site_defaults(record, settings):
    """Settings with only cap_near_percent: the pool still warns at the site's 30 %."""
    settings.ALERT_POOL_LOW_PERCENT = 30
    family = make_family()
    AlertSettings.objects.create(household=family.household, cap_near_percent=90)
    record(family.paul, 6900 * MB)
    assert fired(family.household) == []
    record(family.paul, 100 * MB)  # 3 GB left of 10 GB: 30 %
    assert fired(family.household) == [("pool_low", "domestic", 30, "2026-01")]
