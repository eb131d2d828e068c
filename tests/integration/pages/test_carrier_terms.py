"""What the dashboard says of the carrier terms (SPEC R8–R10, R12): the bank and its
cap, a coming forfeit, each member's fair-use volume left, and uncovered bytes named as
the plan says. Reasons the allocation and the close will fill (from_domestic, capped,
beyond fair use) are set on the rows directly here."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from plans.services import close_periods, create_plan, set_plan
from tests.factories import GB, MB, MemberFactory, household_with_plan
from tests.integration.pages.conftest import NOW
from tests.integration.pages.helpers import Page, htmx, record
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

MARCH_10 = datetime(2026, 3, 10, 9, tzinfo=UTC)


def dashboard(client, member, **headers) -> Page:
    client.force_login(member.user)
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    return Page(response.content)


def banking(**terms):
    """10 GB a month rolled over for two periods, bank capped at 25 GB, from 2026-01:
    January and February unused, so 20 GB are banked in March (closed by paul's 1 GB,
    drawn from the allowance first)."""
    household = household_with_plan(
        slug="bank",
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=2,
        rollover_bank_cap_bytes=25 * GB,
        consumption_order="rollover_last",
        **terms,
    )
    paul = MemberFactory(household=household, user__username="paul", display_name="Paul")
    record(paul, 1 * GB, MARCH_10)
    return household, paul


def test_the_bank_and_its_cap(client, clock):
    _, paul = banking()

    page = dashboard(client, paul)

    assert page.bytes("rollover-remaining") == 20 * GB
    assert page.bytes("bank") == 20 * GB
    assert page.one("bank")["data-cap"] == str(25 * GB)
    assert page.text("bank") == "20.0\xa0GB banked of 25.0\xa0GB"
    assert "forfeit-warning" not in page.testids()


def test_no_bank_cap_keeps_the_rollover_card(client, family):
    page = dashboard(client, family.member)

    assert page.bytes("rollover-remaining") == 9 * GB
    assert "bank" not in page.testids()


def test_a_plan_change_already_recorded_warns_of_the_forfeit(client, clock):
    household, paul = banking(rollover_on_plan_change="forfeit")
    smaller = create_plan(household, name="Small", monthly_allowance_bytes=5 * GB)
    set_plan(household, smaller, now=NOW)  # from April

    page = dashboard(client, paul)

    warning = page.one("forfeit-warning")
    assert page.bytes("forfeit-warning") == 20 * GB
    assert warning["data-on"] == "2026-04-01T00:00:00+02:00"  # Paris summer time
    assert page.text("forfeit-warning") == (
        "⚠ Changing plan on April 1, 2026 loses 20.0\xa0GB of rolled-over data."
    )
    # The same in the live region HTMX refreshes.
    assert Page(htmx(client, "get", "/").content).bytes("forfeit-warning") == 20 * GB


@pytest.mark.parametrize(
    ("rule", "next_allowance", "warns"),
    [
        ("keep", 5 * GB, False),
        ("forfeit_on_downgrade", 50 * GB, False),
        ("forfeit_on_downgrade", 5 * GB, True),
    ],
)
def test_only_a_forfeiting_change_warns(client, clock, rule, next_allowance, warns):
    household, paul = banking(rollover_on_plan_change=rule)
    other = create_plan(household, name="Other", monthly_allowance_bytes=next_allowance)
    set_plan(household, other, now=NOW)

    assert ("forfeit-warning" in dashboard(client, paul).testids()) is warns


def roaming_household(**terms):
    """250 GB at home, 35 GB of it usable abroad by each line; paul roamed 3 GB and
    2 GB, drawn from the domestic pool (no roaming allowance, R10)."""
    household = household_with_plan(
        slug="eu",
        monthly_allowance_bytes=250 * GB,
        roaming_allowance_bytes=0,
        roaming_mode="from_domestic",
        **terms,
    )
    marie = MemberFactory(
        household=household, user__username="marie", display_name="Marie", role="owner"
    )
    paul = MemberFactory(household=household, user__username="paul", display_name="Paul")
    for amount, day in ((3 * GB, 10), (2 * GB, 11)):
        row = record(paul, amount, datetime(2026, 3, day, 9, tzinfo=UTC), zone="roaming")
        assert UsageRecord.objects.get(pk=row.pk).from_domestic_bytes == amount
    return marie, paul


def test_each_members_fair_use_left_in_from_domestic_mode(client, clock):
    marie, _ = roaming_household(roaming_fair_use_bytes=35 * GB)

    page = dashboard(client, marie)

    assert page.bytes("fair-use-paul") == 30 * GB
    assert page.bytes("fair-use-marie") == 35 * GB
    assert page.text("fair-use-paul") == "Paul: 30.0\xa0GB left of 35.0\xa0GB usable abroad"
    region = Page(htmx(client, "get", "/").content)
    assert region.bytes("fair-use-paul") == 30 * GB


def test_no_fair_use_card_without_a_volume(client, clock):
    marie, _ = roaming_household(roaming_fair_use_bytes=None)

    assert "fair-use" not in dashboard(client, marie).testids()


def test_no_fair_use_card_in_separate_mode(client, family):
    assert "fair-use" not in dashboard(client, family.member).testids()


def short_pool(when_pool_is_empty: str):
    """1 GB a month; lea (cap 4 GB, block) records 3 GB: 2 GB uncovered, of which the
    rows say 500 MB her cap refused."""
    household = household_with_plan(
        slug="short", monthly_allowance_bytes=1 * GB, when_pool_is_empty=when_pool_is_empty
    )
    lea = MemberFactory(
        household=household,
        user__username="lea",
        display_name="Léa",
        monthly_cap_bytes=4 * GB,
        cap_action="block",
    )
    row = record(lea, 3 * GB, MARCH_10)
    UsageRecord.objects.filter(pk=row.pk).update(capped_bytes=500 * MB)
    return lea


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("overage", "beyond the pool, billed"),
        ("slowed", "at reduced speed"),
        ("blocked", "blocked"),
    ],
)
def test_uncovered_bytes_are_named_as_the_plan_says(client, clock, when, words):
    lea = short_pool(when)

    page = dashboard(client, lea)

    assert page.bytes("pool-overage") == 2 * GB
    assert page.text("pool-uncovered-pool_empty") == f"1.50\xa0GB {words}"
    assert page.text("pool-uncovered-capped") == "500\xa0MB stopped by members' caps"
    assert page.bytes("member-overage-lea") == 2 * GB
    assert page.text("member-uncovered-pool_empty-lea") == f"1.50\xa0GB {words}"
    assert page.text("member-uncovered-capped-lea") == "500\xa0MB stopped by Léa's cap"


def test_beyond_fair_use_is_always_beyond_fair_use(client, clock):
    household = household_with_plan(
        slug="fair",
        monthly_allowance_bytes=1 * GB,
        roaming_mode="from_domestic",
        roaming_fair_use_bytes=1 * GB,
        when_pool_is_empty="slowed",
    )
    ana = MemberFactory(household=household, user__username="ana", display_name="Ana")
    row = record(ana, 2 * GB, MARCH_10, zone="roaming")
    UsageRecord.objects.filter(pk=row.pk).update(beyond_fair_use_bytes=row.overage_bytes)

    page = dashboard(client, ana, HX_Request="true")

    assert page.text("member-uncovered-beyond_fair_use-ana").endswith("beyond fair use")
    assert "member-uncovered-pool_empty-ana" not in page.testids()


def test_the_words_in_french(client, clock):
    lea = short_pool("slowed")
    client.force_login(lea.user)

    page = Page(client.get("/", headers={"Accept-Language": "fr"}).content)
    translation.activate("en")

    assert page.text("pool-uncovered-pool_empty").endswith("à débit réduit")
    assert page.text("member-uncovered-capped-lea").endswith("bloqués par le plafond de Léa")


def test_my_usage_names_each_records_uncovered_bytes(client, clock):
    lea = short_pool("blocked")
    client.force_login(lea.user)

    for response in (client.get("/usage/"), htmx(client, "get", "/usage/")):
        page = Page(response.content)
        assert page.text("record-uncovered-pool_empty") == "⚠ 1.50\xa0GB blocked"
        assert page.text("record-uncovered-capped") == "⚠ 500\xa0MB stopped by Léa's cap"


def test_history_names_each_periods_uncovered_bytes_by_that_periods_terms(client, clock):
    """1 GB a month, slowed when empty in January, blocked from February; Léa's 2 GB
    block cap: 3 GB a month leaves 1 GB her cap refused and 1 GB the empty pool's."""
    household = household_with_plan(
        slug="words", monthly_allowance_bytes=1 * GB, when_pool_is_empty="slowed"
    )
    lea = MemberFactory(
        household=household,
        user__username="lea",
        display_name="Léa",
        monthly_cap_bytes=2 * GB,
        cap_action="block",
    )
    january = datetime(2026, 1, 10, 9, tzinfo=UTC)
    blocked = create_plan(
        household, name="Blocked", monthly_allowance_bytes=1 * GB, when_pool_is_empty="blocked"
    )
    record(lea, 3 * GB, january)
    set_plan(household, blocked, now=january)  # from February
    record(lea, 3 * GB, datetime(2026, 2, 10, 9, tzinfo=UTC))
    close_periods(now=NOW)
    client.force_login(lea.user)

    page = Page(client.get("/history/").content)

    for period, words in (("2026-01", "at reduced speed"), ("2026-02", "blocked")):
        assert page.bytes(f"history-uncovered-pool_empty-{period}") == 1 * GB
        assert page.text(f"history-uncovered-pool_empty-{period}") == f"1.00\xa0GB {words}"
        assert page.text(f"history-uncovered-capped-{period}") == (
            "1.00\xa0GB stopped by members' caps"
        )
