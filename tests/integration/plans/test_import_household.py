"""SPEC §3 ``import_household``: the household file, and SPEC §1's fixed calendar."""

import copy
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import Household, Member
from core.errors import Refused
from core.periods import Period
from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms
from plans.services import (
    HouseholdFileRefused,
    change_calendar,
    close_periods,
    ensure_open,
    grant,
    import_household,
    read_household_file,
)
from tests.factories import GB, MemberFactory, UserFactory
from usage.models import UsageRecord
from usage.selectors import pool_status
from usage.services import record_usage

pytestmark = pytest.mark.django_db

# The carrier terms (SPEC R8–R12) a file that does not name them gets.
CARRIER_DEFAULTS = {
    "rollover_bank_cap_bytes": None,
    "rollover_on_plan_change": "keep",
    "roaming_mode": "separate",
    "roaming_fair_use_bytes": None,
    "when_pool_is_empty": "overage",
}

User = get_user_model()
MAR_15 = datetime(2026, 3, 15, 12, tzinfo=UTC)  # in period 2026-03 (Europe/Paris, day 1)
APR_START = datetime(2026, 3, 31, 22, tzinfo=UTC)  # 2026-04-01 00:00 Paris (summer time)
MAY_START = datetime(2026, 4, 30, 22, tzinfo=UTC)

BASE = {
    "household": {
        "slug": "dupont",
        "name": "Famille Dupont",
        "time_zone": "Europe/Paris",
        "cycle_day": 1,
        "start_period": "2026-01",
    },
    "plan": {
        "name": "Famille 100 Go",
        "monthly_allowance_bytes": 100 * GB,
        "roaming_allowance_bytes": 10 * GB,
        "rollover": True,
        "rollover_months": 1,
        "rollover_cap_bytes": None,
        "consumption_order": "rollover_first",
        "monthly_price": 29.99,
    },
    "members": [
        {
            "username": "marie",
            "display_name": "Marie",
            "email": "marie@example.org",
            "role": "owner",
            "monthly_cap_bytes": None,
            "cap_action": "notify",
        },
        {"username": "paul", "display_name": "Paul", "monthly_cap_bytes": 5 * GB},
    ],
}


def household_file(**sections):
    """BASE with some of its sections' keys replaced (a value of ``...`` removes it)."""
    data = copy.deepcopy(BASE)
    for section, changes in sections.items():
        if section == "members":
            data["members"] = changes
            continue
        for key, value in changes.items():
            if value is ...:
                data[section].pop(key, None)
            else:
                data[section][key] = value
    return data


def counts():
    models = (Household, Member, User, Plan, Terms, Bucket, LedgerEntry, PeriodClose, UsageRecord)
    return {m.__name__: m.objects.count() for m in models}


def snapshot():
    """Every row a household file can touch, as values."""
    return (
        list(Household.objects.order_by("pk").values()),
        list(Member.objects.order_by("pk").values()),
        list(User.objects.order_by("pk").values("username", "email", "password")),
        list(Plan.objects.order_by("pk").values()),
        list(Terms.objects.order_by("pk").values()),
        list(Bucket.objects.order_by("pk").values()),
    )


def terms_rows(household):
    return [
        (t.period, t.plan.name, t.monthly_allowance_bytes)
        for t in Terms.objects.filter(household=household).order_by("period")
    ]


def allowance_rows(household):
    return [
        (b.period, b.zone, b.granted_bytes, b.valid_from, b.expires_at)
        for b in Bucket.objects.filter(household=household, kind="allowance").order_by("pk")
    ]


def write(tmp_path, data) -> str:
    path = tmp_path / "household.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# --- creating ---------------------------------------------------------------------------


def test_a_new_household_gets_its_plan_from_the_start_period_and_members_without_password(
    tmp_path,
):
    out = io.StringIO()
    call_command("import_household", write(tmp_path, BASE), stdout=out)

    household = Household.objects.get(slug="dupont")
    assert (household.name, household.time_zone, household.cycle_day) == (
        "Famille Dupont",
        "Europe/Paris",
        1,
    )
    assert (household.start_period, household.opened_through) == ("2026-01", "")
    plan = Plan.objects.get(household=household)
    assert plan.term_values() == {
        "monthly_allowance_bytes": 100 * GB,
        "roaming_allowance_bytes": 10 * GB,
        "rollover": True,
        "rollover_months": 1,
        "rollover_cap_bytes": None,
        "consumption_order": "rollover_first",
        **CARRIER_DEFAULTS,
    }
    assert plan.monthly_price == Decimal("29.99")
    # No activity yet: the terms are in force from the start period 2026-01.
    assert terms_rows(household) == [("2026-01", "Famille 100 Go", 100 * GB)]
    assert Bucket.objects.count() == 0  # importing opens no period

    marie, paul = Member.objects.filter(household=household).order_by("user__username")
    assert (marie.username, marie.role, marie.display_name, marie.user.email) == (
        "marie",
        "owner",
        "Marie",
        "marie@example.org",
    )
    assert (paul.role, paul.monthly_cap_bytes, paul.cap_action, paul.active) == (
        "member",
        5 * GB,
        "notify",
        True,
    )
    assert paul.user.email == ""
    assert not marie.user.has_usable_password()
    assert not paul.user.has_usable_password()

    assert out.getvalue().splitlines() == [
        "household dupont: created",
        "plan Famille 100 Go: created",
        "plan Famille 100 Go: its terms apply from period 2026-01",
        "member marie: created (no usable password until the owner sets one)",
        "member paul: created (no usable password until the owner sets one)",
        "dupont: household created, plan created, members: 2 created, 0 updated, 0 unchanged",
    ]


def test_missing_optional_keys_take_the_defaults_of_spec_1():
    data = {
        "household": {"slug": "martin", "name": "Martin", "start_period": "2025-11"},
        "plan": {"name": "Unlimited", "monthly_allowance_bytes": None},
        "members": [{"username": "anne", "role": "owner"}, {"username": "leo"}],
    }
    import_household(data, now=MAR_15)

    household = Household.objects.get(slug="martin")
    assert (household.time_zone, household.cycle_day) == ("Europe/Paris", 1)
    plan = Plan.objects.get(household=household)
    assert plan.term_values() == {
        "monthly_allowance_bytes": None,  # null: unlimited
        "roaming_allowance_bytes": 0,
        "rollover": False,
        "rollover_months": 1,
        "rollover_cap_bytes": None,
        "consumption_order": "rollover_first",
        **CARRIER_DEFAULTS,
    }
    assert plan.monthly_price is None
    anne, leo = Member.objects.filter(household=household).order_by("user__username")
    for member in (anne, leo):
        assert (member.display_name, member.user.email) == ("", "")
        assert (member.monthly_cap_bytes, member.cap_action, member.active) == (
            None,
            "notify",
            True,
        )
    assert (anne.role, leo.role) == ("owner", "member")
    assert terms_rows(household) == [("2025-11", "Unlimited", None)]


def test_without_a_plan_part_the_household_has_no_plan_yet():
    data = household_file()
    del data["plan"]
    report = import_household(data, now=MAR_15)
    assert report.plan == ""
    assert Plan.objects.count() == 0
    assert Terms.objects.count() == 0
    assert Member.objects.count() == 2


def test_replaying_the_same_file_changes_nothing(tmp_path):
    import_household(BASE, now=MAR_15)
    before, rows = counts(), snapshot()
    terms_ids = list(Terms.objects.values_list("pk", flat=True))

    report = import_household(BASE, now=MAR_15)
    assert not report.changed
    assert (report.household, report.plan_state, report.terms_from) == (
        "unchanged",
        "unchanged",
        None,
    )
    assert report.members == {"marie": "unchanged", "paul": "unchanged"}
    assert counts() == before
    assert snapshot() == rows
    assert list(Terms.objects.values_list("pk", flat=True)) == terms_ids

    # Through the command too, after time moved on and a status read opened periods.
    pool_status(Household.objects.get(), now=MAR_15)
    before, rows = counts(), snapshot()
    out = io.StringIO()
    call_command("import_household", write(tmp_path, BASE), stdout=out)
    assert out.getvalue() == "dupont: nothing to change, the household is as the file says.\n"
    assert counts() == before
    assert snapshot() == rows


# --- the plan part ------------------------------------------------------------------------


def test_a_plan_change_before_any_activity_applies_from_the_start_period():
    import_household(BASE, now=MAR_15)
    report = import_household(household_file(plan={"monthly_allowance_bytes": 50 * GB}), now=MAR_15)
    assert (report.plan_state, report.plan_changes, report.terms_from) == (
        "updated",
        ["monthly_allowance_bytes"],
        "2026-01",
    )
    household = Household.objects.get()
    assert terms_rows(household) == [("2026-01", "Famille 100 Go", 50 * GB)]


def test_a_plan_change_after_activity_applies_from_the_next_period_only():
    import_household(BASE, now=MAR_15)
    household = Household.objects.get()
    marie = Member.objects.get(user__username="marie")
    # 7 GB used on 15 March: 2026-01 to 2026-03 open with 100 GB each.
    record_usage(marie, bytes=7 * GB, at=MAR_15, now=MAR_15)

    report = import_household(
        household_file(plan={"monthly_allowance_bytes": 20 * GB, "rollover": False}), now=MAR_15
    )
    assert (report.plan_state, report.terms_from) == ("updated", "2026-04")
    assert report.plan_changes == ["monthly_allowance_bytes", "rollover"]
    assert terms_rows(household) == [
        ("2026-01", "Famille 100 Go", 100 * GB),
        ("2026-04", "Famille 100 Go", 20 * GB),
    ]
    # The opened periods keep their 100 GB. Usage on 15 March closed January and February
    # (rollover on): February's 100 GB rolled into March and covered the 7 GB first.
    march = Bucket.objects.get(
        household=household, kind="allowance", zone="domestic", period="2026-03"
    )
    assert (march.granted_bytes, march.left_bytes) == (100 * GB, 100 * GB)
    rolled = Bucket.objects.get(household=household, kind="rollover", period="2026-02")
    assert (rolled.granted_bytes, rolled.left_bytes) == (100 * GB, 93 * GB)
    ensure_open(household, Period(2026, 4))
    april = Bucket.objects.get(
        household=household, kind="allowance", zone="domestic", period="2026-04"
    )
    assert (april.granted_bytes, april.valid_from, april.expires_at) == (
        20 * GB,
        APR_START,
        MAY_START,
    )

    # Replaying the new file changes nothing.
    before = counts()
    assert not import_household(
        household_file(plan={"monthly_allowance_bytes": 20 * GB, "rollover": False}), now=MAR_15
    ).changed
    assert counts() == before


def test_another_plan_name_creates_that_plan_and_puts_it_in_force_from_the_next_period():
    import_household(BASE, now=MAR_15)
    household = Household.objects.get()
    pool_status(household, now=MAR_15)  # opens 2026-01..2026-03: activity

    report = import_household(
        household_file(plan={"name": "Famille 200 Go", "monthly_allowance_bytes": 200 * GB}),
        now=MAR_15,
    )
    assert (report.plan, report.plan_state, report.terms_from) == (
        "Famille 200 Go",
        "created",
        "2026-04",
    )
    assert sorted(Plan.objects.values_list("name", flat=True)) == [
        "Famille 100 Go",
        "Famille 200 Go",
    ]
    assert terms_rows(household) == [
        ("2026-01", "Famille 100 Go", 100 * GB),
        ("2026-04", "Famille 200 Go", 200 * GB),
    ]

    # Going back to the first plan: its (unchanged) terms again, from 2026-04.
    report = import_household(BASE, now=MAR_15)
    assert (report.plan_state, report.terms_from) == ("unchanged", "2026-04")
    assert terms_rows(household) == [
        ("2026-01", "Famille 100 Go", 100 * GB),
        ("2026-04", "Famille 100 Go", 100 * GB),
    ]


def test_a_price_change_alone_writes_no_terms():
    import_household(BASE, now=MAR_15)
    pool_status(Household.objects.get(), now=MAR_15)
    terms_before = list(Terms.objects.values())

    report = import_household(household_file(plan={"monthly_price": 24.5}), now=MAR_15)
    assert (report.plan_state, report.plan_changes, report.terms_from) == (
        "updated",
        ["monthly_price"],
        None,
    )
    assert Plan.objects.get().monthly_price == Decimal("24.50")
    assert list(Terms.objects.values()) == terms_before


# --- members --------------------------------------------------------------------------------


def test_members_are_updated_roles_swapped_and_those_left_out_kept():
    data = household_file()
    data["members"].append({"username": "leo", "display_name": "Léo"})
    import_household(data, now=MAR_15)
    leo_before = Member.objects.filter(user__username="leo").values().get()

    # Paul becomes the owner, Marie a member with a blocking 2 GB cap and a new email;
    # Zoé arrives; Léo is not in the file.
    report = import_household(
        household_file(
            members=[
                {
                    "username": "marie",
                    "display_name": "Marie D.",
                    "email": "marie@dupont.example",
                    "monthly_cap_bytes": 2 * GB,
                    "cap_action": "block",
                },
                {"username": "paul", "display_name": "Paul", "role": "owner"},
                {"username": "zoe", "display_name": "Zoé", "active": False},
            ]
        ),
        now=MAR_15,
    )
    assert report.members == {"marie": "updated", "paul": "updated", "zoe": "created"}
    assert report.member_changes["marie"] == [
        "display_name",
        "role",
        "monthly_cap_bytes",
        "cap_action",
        "email",
    ]
    assert report.member_changes["paul"] == ["role", "monthly_cap_bytes"]

    members = {m.username: m for m in Member.objects.select_related("user")}
    marie, paul, zoe = members["marie"], members["paul"], members["zoe"]
    assert (marie.role, marie.display_name, marie.user.email) == (
        "member",
        "Marie D.",
        "marie@dupont.example",
    )
    assert (marie.monthly_cap_bytes, marie.cap_action) == (2 * GB, "block")
    assert (paul.role, paul.monthly_cap_bytes) == ("owner", None)  # the default: no cap
    assert (zoe.role, zoe.active, zoe.household.slug) == ("member", False, "dupont")
    assert Member.objects.filter(user__username="leo").values().get() == leo_before
    assert list(Member.objects.filter(role="owner", active=True).values_list("user__username")) == [
        ("paul",)
    ]


def test_an_existing_user_in_no_household_joins_and_keeps_the_password():
    user = UserFactory(username="marie", email="old@example.org")
    report = import_household(BASE, now=MAR_15)
    assert report.members["marie"] == "created"
    assert report.member_changes["marie"] == ["existing user, password kept"]
    user.refresh_from_db()
    assert user.check_password("pw-for-tests")
    assert user.email == "marie@example.org"
    assert (user.member.household.slug, user.member.role) == ("dupont", "owner")
    assert User.objects.count() == 2  # marie was reused, paul created


# --- refusals: each changes nothing ---------------------------------------------------------


def _with(mutate):
    data = household_file(household={"name": "Renamed"})  # a change that must not land
    mutate(data)
    return data


def _set(*path, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(*path):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


REFUSALS = [
    (_set("colour", value="blue"), "colour: unknown key"),
    (_set("plan", "colour", value="blue"), "plan.colour: unknown key"),
    (_set("members", 1, "age", value=9), "members[1].age: unknown key"),
    (_set("household", value=[]), "household: must be a JSON object ([])"),
    (_set("members", value={"marie": {}}), 'members: must be a JSON array ({"marie": {}})'),
    (_set("members", 1, value="paul"), 'members[1]: must be a JSON object ("paul")'),
    (
        _set("household", "cycle_day", value=0),
        "household.cycle_day: must be an integer from 1 to 28 (0)",
    ),
    (
        _set("household", "cycle_day", value=True),
        "household.cycle_day: must be an integer from 1 to 28 (true)",
    ),
    (
        _set("household", "cycle_day", value="5"),
        'household.cycle_day: must be an integer from 1 to 28 ("5")',
    ),
    (_set("plan", "rollover", value="yes"), 'plan.rollover: must be true or false ("yes")'),
    (_set("plan", "rollover", value=1), "plan.rollover: must be true or false (1)"),
    (
        _set("plan", "monthly_allowance_bytes", value=1e11),
        "plan.monthly_allowance_bytes: must be a whole number of bytes from 0 to 10^13 "
        "or null (100000000000.0)",
    ),
    (
        _set("plan", "roaming_allowance_bytes", value=False),
        "plan.roaming_allowance_bytes: must be a whole number of bytes from 0 to 10^13 (false)",
    ),
    (
        _set("plan", "rollover_months", value=0),
        "plan.rollover_months: must be an integer from 1 to 120 (0)",
    ),
    (
        _set("plan", "consumption_order", value="fifo"),
        "plan.consumption_order: must be rollover_first, rollover_last or a list of the kinds "
        '("fifo")',
    ),
    (
        _set("plan", "monthly_price", value="9.99"),
        'plan.monthly_price: must be a number or null ("9.99")',
    ),
    (
        _set("plan", "monthly_price", value=9.999),
        "plan.monthly_price: must be from 0 to 999999.99 with at most 2 decimals (9.999)",
    ),
    (
        _set("members", 1, "monthly_cap_bytes", value=-1),
        "members[1].monthly_cap_bytes: must be a whole number of bytes from 0 to 10^13 "
        "or null (-1)",
    ),
    (
        _set("members", 1, "monthly_cap_bytes", value=10**13 + 1),
        "members[1].monthly_cap_bytes: must be a whole number of bytes from 0 to 10^13 "
        "or null (10000000000001)",
    ),
    (
        _set("members", 1, "role", value="admin"),
        'members[1].role: must be one of owner, member ("admin")',
    ),
    (
        _set("members", 1, "cap_action", value="stop"),
        'members[1].cap_action: must be one of notify, block ("stop")',
    ),
    (_set("members", 1, "active", value="no"), 'members[1].active: must be true or false ("no")'),
    (
        _set("members", 1, "email", value="paul-at-home"),
        'members[1].email: Enter a valid email address ("paul-at-home")',
    ),
    (_set("members", 1, "username", value=""), 'members[1].username: must not be empty ("")'),
    (_set("members", 1, "username", value=7), "members[1].username: must be a string (7)"),
    (_set("household", "slug", value="du pont"), "household.slug: Enter a valid “slug”"),
    (
        _set("household", "time_zone", value="Europe/Lyon"),
        'household.time_zone: is not an IANA time zone name ("Europe/Lyon")',
    ),
    (
        _set("household", "start_period", value="2026-13"),
        'household.start_period: must be YYYY-MM ("2026-13")',
    ),
    (_drop("household", "name"), "household.name: is required"),
    (_drop("plan", "name"), "plan.name: is required"),
    (_drop("plan", "monthly_allowance_bytes"), "plan.monthly_allowance_bytes: is required"),
    (_drop("members", 1, "username"), "members[1].username: is required"),
    (_drop("household"), "household: is required"),
    (
        _set("members", 1, value={"username": "marie"}),
        'members[1].username: appears twice in the file, also at members[0] ("marie")',
    ),
    (
        _set("members", 1, "role", value="owner"),
        "members: the household must have exactly one active owner, it would have 2 (marie, paul)",
    ),
    (
        _set("members", 0, "active", value=False),
        "members: the household must have exactly one active owner, it would have 0 (none)",
    ),
]


@pytest.mark.parametrize(("mutate", "problem"), REFUSALS, ids=[p for _, p in REFUSALS])
def test_a_bad_file_is_refused_with_the_json_path_and_changes_nothing(mutate, problem):
    import_household(BASE, now=MAR_15)
    before, rows = counts(), snapshot()
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(_with(mutate), now=MAR_15)
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems
    assert counts() == before
    assert snapshot() == rows


def test_every_problem_is_listed_at_once():
    data = household_file(household={"cycle_day": 29, "slug": ...}, plan={"colour": "red"})
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(data, now=MAR_15)
    assert refused.value.problems == [
        "household.slug: is required",
        "household.cycle_day: must be an integer from 1 to 28 (29)",
        "plan.colour: unknown key",
    ]


@pytest.mark.parametrize("data", [[], "dupont", None, 3])
def test_the_file_must_be_an_object(data):
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(data, now=MAR_15)
    assert refused.value.problems == [f"file: must be a JSON object ({json.dumps(data)})"]


def test_a_new_household_needs_a_start_period():
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(household_file(household={"start_period": ...}), now=MAR_15)
    assert refused.value.problems == ["household.start_period: is required for a new household"]
    assert set(counts().values()) == {0}


def test_without_a_start_period_an_existing_household_keeps_its_own():
    import_household(BASE, now=MAR_15)
    report = import_household(household_file(household={"start_period": ...}), now=MAR_15)
    assert not report.changed
    assert Household.objects.get().start_period == "2026-01"


def test_a_member_of_another_household_is_refused_and_nothing_is_created():
    MemberFactory(user__username="paul", household__slug="martin")
    before, rows = counts(), snapshot()
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(BASE, now=MAR_15)
    assert refused.value.problems == ['members[1].username: belongs to another household ("paul")']
    assert counts() == before
    assert snapshot() == rows
    assert not Household.objects.filter(slug="dupont").exists()


# --- SPEC §1: the calendar is fixed once bytes moved --------------------------------------


def _usage(household):
    record_usage(Member.objects.get(user__username="paul"), bytes=1 * GB, at=MAR_15, now=MAR_15)


def _addon(household):
    grant(household, kind="addon", zone="domestic", bytes=1 * GB, at=MAR_15, now=MAR_15)


def _close(household):
    close_periods(household=household, through=Period(2026, 1), now=MAR_15)


@pytest.mark.parametrize(
    ("activity", "field", "value"),
    [
        (_usage, "cycle_day", 5),
        (_addon, "time_zone", "America/New_York"),
        (_close, "start_period", "2025-12"),
    ],
    ids=["usage", "addon", "close"],
)
def test_the_calendar_cannot_change_once_the_household_has_usage_or_grants(activity, field, value):
    import_household(BASE, now=MAR_15)
    household = Household.objects.get()
    activity(household)
    before, rows = counts(), snapshot()

    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(household_file(household={field: value}), now=MAR_15)
    assert refused.value.problems == [
        f"household.{field}: cannot change once the household has usage or grants "
        f"({json.dumps(value)})"
    ]
    assert counts() == before
    assert snapshot() == rows

    with pytest.raises(Refused) as direct:
        change_calendar(household, **{field: value})
    assert str(direct.value) == (
        f"{field}: cannot change once the household has usage or grants ({value})"
    )
    # Giving the values it already has is no change, and so is no refusal.
    change_calendar(household, cycle_day=1, time_zone="Europe/Paris", start_period="2026-01")
    assert snapshot() == rows


def test_a_calendar_change_after_a_status_read_reopens_the_periods_on_the_new_calendar():
    import_household(BASE, now=MAR_15)
    household = Household.objects.get()
    pool_status(household, now=MAR_15)  # opens 2026-01..2026-03, 100 GB each (and roaming)
    assert Bucket.objects.filter(household=household).count() == 6
    assert LedgerEntry.objects.filter(household=household).count() == 6

    # New York, cycle day 10, from 2026-02, and a 20 GB plan, all in one file.
    report = import_household(
        household_file(
            household={"time_zone": "America/New_York", "cycle_day": 10, "start_period": "2026-02"},
            plan={"monthly_allowance_bytes": 20 * GB, "roaming_allowance_bytes": 0},
        ),
        now=MAR_15,
    )
    assert (report.household, report.household_changes) == (
        "updated",
        ["time_zone", "cycle_day", "start_period"],
    )
    # No activity left: the new terms apply from the new start period.
    assert report.terms_from == "2026-02"
    household.refresh_from_db()
    assert household.opened_through == ""
    assert Bucket.objects.filter(household=household).count() == 0
    assert LedgerEntry.objects.filter(household=household).count() == 0
    assert terms_rows(household) == [("2026-02", "Famille 100 Go", 20 * GB)]

    # 15 March in New York, cycle day 10: period 2026-03. Opening runs on the new calendar
    # (US summer time from 8 March 2026: midnight is 05:00Z before, 04:00Z after).
    pool_status(household, now=MAR_15)
    assert allowance_rows(household) == [
        (
            "2026-02",
            "domestic",
            20 * GB,
            datetime(2026, 2, 10, 5, tzinfo=UTC),
            datetime(2026, 3, 10, 4, tzinfo=UTC),
        ),
        (
            "2026-03",
            "domestic",
            20 * GB,
            datetime(2026, 3, 10, 4, tzinfo=UTC),
            datetime(2026, 4, 10, 4, tzinfo=UTC),
        ),
    ]
    # Usage now lands in the new periods.
    record = record_usage(
        Member.objects.get(user__username="paul"), bytes=3 * GB, at=MAR_15, now=MAR_15
    )
    assert (record.period, record.covered_bytes) == ("2026-03", 3 * GB)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone: is not an IANA time zone name (Mars/Olympus)"),
        ({"cycle_day": 29}, "cycle_day: Ensure this value is less than or equal to 28. (29)"),
        ({"cycle_day": True}, "cycle_day: must be an integer from 1 to 28 (True)"),
        ({"start_period": "2026-1"}, "start_period: must be YYYY-MM (2026-1)"),
    ],
)
def test_change_calendar_validates_through_the_model(changes, message):
    import_household(BASE, now=MAR_15)
    household = Household.objects.get()
    rows = snapshot()
    with pytest.raises(Refused) as refused:
        change_calendar(household, **changes)
    assert str(refused.value) == message
    assert snapshot() == rows


# --- the command ----------------------------------------------------------------------------


def test_the_command_reads_standard_input_and_is_quiet_at_verbosity_0():
    out = io.StringIO()
    call_command(
        "import_household", "-", stdin=io.StringIO(json.dumps(BASE)), stdout=out, verbosity=0
    )
    assert out.getvalue() == ""
    assert Member.objects.filter(household__slug="dupont").count() == 2


def test_the_command_refuses_a_bad_file_with_the_path_and_exit_code_1(tmp_path):
    path = write(tmp_path, household_file(household={"cycle_day": 0}))
    with pytest.raises(CommandError) as refused:
        call_command("import_household", path)
    assert str(refused.value) == (
        f"household.cycle_day: must be an integer from 1 to 28 (0)\nNothing changed ({path})."
    )
    assert refused.value.returncode == 1
    assert set(counts().values()) == {0}


def test_the_command_refuses_a_missing_file_and_invalid_json(tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(CommandError, match=r"^file: no such file \(.*nope\.json\)$"):
        call_command("import_household", missing)

    bad = tmp_path / "bad.json"
    bad.write_text('{"household": {\n  "slug": "dupont",\n  "name": }\n}', encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("import_household", str(bad))
    assert str(refused.value).splitlines()[0] == (
        "file: is not valid JSON: Expecting value (line 3, column 11)"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"household": {}, "household": {}}', 'file: key repeated in one object ("household")'),
        ('{"plan": {"monthly_price": NaN}}', "file: not a JSON number (NaN)"),
        ("", "file: is not valid JSON: Expecting value (line 1, column 1)"),
    ],
)
def test_reading_refuses_what_json_would_let_through(text, problem):
    with pytest.raises(HouseholdFileRefused) as refused:
        read_household_file(text)
    assert refused.value.problems == [problem]


def test_the_command_exits_1_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "manage.py", "import_household", str(bad)],
        cwd=root,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.test_settings", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "file: is not valid JSON: Expecting ',' delimiter (line 1, column 6)" in result.stderr


def test_change_calendar_puts_the_latest_terms_in_force_from_the_start_period():
    import_household(BASE, now=MAR_15)
    household = Household.objects.get()
    pool_status(household, now=MAR_15)  # activity: a plan change now waits for 2026-04
    import_household(household_file(plan={"monthly_allowance_bytes": 20 * GB}), now=MAR_15)
    assert terms_rows(household) == [
        ("2026-01", "Famille 100 Go", 100 * GB),
        ("2026-04", "Famille 100 Go", 20 * GB),
    ]

    saved = change_calendar(household, cycle_day=10)
    assert (saved.cycle_day, saved.opened_through) == (10, "")
    assert (household.cycle_day, household.calendar.cycle_day) == (10, 10)
    # Nothing was accounted on the old calendar: the owner's latest choice applies from
    # the start period, as for a household without activity.
    assert terms_rows(household) == [("2026-01", "Famille 100 Go", 20 * GB)]
    assert Bucket.objects.filter(household=household).count() == 0
