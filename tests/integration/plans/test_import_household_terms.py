"""The household file's carrier terms (SPEC R7–R12): each refusal names its JSON path
and value and changes nothing; what is accepted is stored in its one form."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from plans.models import Plan, Terms
from plans.services import HouseholdFileRefused, import_household
from tests.factories import GB

pytestmark = pytest.mark.django_db

MAR_15 = datetime(2026, 3, 15, 12, tzinfo=UTC)
PACKS_FIRST = ["bonus", "addon", "allowance", "rollover"]

BASE = {
    "household": {"slug": "lee", "name": "The Lees", "start_period": "2026-01"},
    "plan": {"name": "Family 50 GB", "monthly_allowance_bytes": 50 * GB, "rollover": True},
    "members": [{"username": "ada", "role": "owner"}],
}


def with_plan(**keys) -> dict:
    data = copy.deepcopy(BASE)
    data["plan"].update(keys)
    return data


def rows():
    return (
        list(Plan.objects.order_by("pk").values()),
        list(Terms.objects.order_by("pk").values()),
    )


REFUSALS = [
    (
        {"consumption_order": ["bonus", "addon", "bonuss", "rollover"]},
        'plan.consumption_order[2]: unknown kind ("bonuss")',
    ),
    (
        {"consumption_order": ["bonus", "addon", "bonus", "rollover"]},
        'plan.consumption_order[2]: names a kind twice ("bonus")',
    ),
    (
        {"consumption_order": ["bonus", "allowance"]},
        "plan.consumption_order: must name each of the four kinds: missing rollover, addon "
        '(["bonus", "allowance"])',
    ),
    (
        {"consumption_order": ["Bonus", "addon", "allowance", "rollover"]},
        'plan.consumption_order[0]: unknown kind ("Bonus")',
    ),
    (
        {"consumption_order": "bonus,addon,allowance,rollover"},
        "plan.consumption_order: must be rollover_first, rollover_last or a list of the kinds "
        '("bonus,addon,allowance,rollover")',
    ),
    (
        {"consumption_order": 3},
        "plan.consumption_order: must be rollover_first, rollover_last or a list of the kinds (3)",
    ),
    (
        {"roaming_fair_use_bytes": 35 * GB},
        "plan.roaming_fair_use_bytes: means nothing with roaming_mode separate: must be null "
        "(35000000000)",
    ),
    (
        {"roaming_mode": "separate", "roaming_fair_use_bytes": 0},
        "plan.roaming_fair_use_bytes: means nothing with roaming_mode separate: must be null (0)",
    ),
    (
        {"roaming_mode": "abroad"},
        'plan.roaming_mode: must be one of separate, from_domestic ("abroad")',
    ),
    (
        {"rollover_on_plan_change": "lose"},
        'plan.rollover_on_plan_change: must be one of keep, forfeit, forfeit_on_downgrade ("lose")',
    ),
    (
        {"when_pool_is_empty": "throttled"},
        'plan.when_pool_is_empty: must be one of overage, slowed, blocked ("throttled")',
    ),
    (
        {"rollover_bank_cap_bytes": 10**13 + 1},
        "plan.rollover_bank_cap_bytes: must be a whole number of bytes from 0 to 10^13 or null "
        "(10000000000001)",
    ),
    (
        {"rollover_bank_cap_bytes": "20GB"},
        "plan.rollover_bank_cap_bytes: must be a whole number of bytes from 0 to 10^13 or null "
        '("20GB")',
    ),
    (
        {"roaming_mode": "from_domestic", "roaming_fair_use_bytes": -1},
        "plan.roaming_fair_use_bytes: must be a whole number of bytes from 0 to 10^13 or null (-1)",
    ),
]


@pytest.mark.parametrize(("keys", "problem"), REFUSALS, ids=[p for _, p in REFUSALS])
def test_a_bad_term_is_refused_with_its_path_and_value_and_changes_nothing(keys, problem):
    import_household(BASE, now=MAR_15)
    before = rows()
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(with_plan(**keys), now=MAR_15)
    assert refused.value.problems == [problem]
    assert rows() == before


def test_every_bad_term_is_listed_at_once_in_the_files_order():
    data = with_plan(
        when_pool_is_empty="off",
        consumption_order=["addon", "addon"],
        rollover_on_plan_change="never",
    )
    with pytest.raises(HouseholdFileRefused) as refused:
        import_household(data, now=MAR_15)
    assert refused.value.problems == [
        'plan.consumption_order[1]: names a kind twice ("addon")',
        "plan.rollover_on_plan_change: must be one of keep, forfeit, forfeit_on_downgrade "
        '("never")',
        'plan.when_pool_is_empty: must be one of overage, slowed, blocked ("off")',
    ]
    assert not Plan.objects.exists()


def test_every_term_is_stored_as_the_file_says():
    data = with_plan(
        consumption_order=PACKS_FIRST,
        rollover_bank_cap_bytes=20 * GB,
        rollover_on_plan_change="forfeit_on_downgrade",
        roaming_mode="from_domestic",
        roaming_fair_use_bytes=35 * GB,
        when_pool_is_empty="slowed",
    )
    import_household(data, now=MAR_15)
    plan = Plan.objects.get()
    expected = {
        "consumption_order": "bonus,addon,allowance,rollover",
        "rollover_bank_cap_bytes": 20 * GB,
        "rollover_on_plan_change": "forfeit_on_downgrade",
        "roaming_mode": "from_domestic",
        "roaming_fair_use_bytes": 35 * GB,
        "when_pool_is_empty": "slowed",
    }
    assert {name: getattr(plan, name) for name in expected} == expected
    terms = Terms.objects.get()
    assert {name: getattr(terms, name) for name in expected} == expected
    # The same file again changes nothing.
    report = import_household(data, now=MAR_15)
    assert not report.changed


def test_a_list_equal_to_a_named_order_is_stored_as_its_name_and_is_no_change():
    import_household(with_plan(consumption_order="rollover_last"), now=MAR_15)
    before = rows()
    as_list = ["allowance", "bonus", "addon", "rollover"]
    report = import_household(with_plan(consumption_order=as_list), now=MAR_15)
    assert not report.changed
    assert rows() == before
    assert Plan.objects.get().consumption_order == "rollover_last"


def test_a_fair_use_volume_may_be_null_with_either_mode():
    import_household(with_plan(roaming_mode="separate", roaming_fair_use_bytes=None), now=MAR_15)
    import_household(with_plan(roaming_mode="from_domestic"), now=MAR_15)
    plan = Plan.objects.get()
    assert (plan.roaming_mode, plan.roaming_fair_use_bytes) == ("from_domestic", None)
