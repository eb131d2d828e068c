"""SPEC R7 and R9 as pure rules: consumption orders as lists, and when a plan change
loses the rolled-over data."""

from __future__ import annotations

from itertools import permutations
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.problems import Problem
from plans import rules
from plans.models import CONSUMPTION_ORDERS

KINDS = ["allowance", "rollover", "bonus", "addon"]


def test_a_named_order_and_its_list_are_the_same_order():
    assert rules.order_as_list("rollover_first") == ["rollover", "allowance", "bonus", "addon"]
    assert rules.order_as_list("rollover_last") == ["allowance", "bonus", "addon", "rollover"]
    assert rules.stored_order(["rollover", "allowance", "bonus", "addon"]) == "rollover_first"
    assert rules.stored_order(["bonus", "addon", "allowance", "rollover"]) == (
        "bonus,addon,allowance,rollover"
    )
    assert rules.order_as_list("bonus,addon,allowance,rollover") == [
        "bonus",
        "addon",
        "allowance",
        "rollover",
    ]


@given(st.permutations(KINDS))
def test_every_order_is_stored_once_and_read_back(kinds):
    stored = rules.stored_order(kinds)
    assert stored in CONSUMPTION_ORDERS
    assert rules.order_as_list(stored) == kinds
    assert rules.order_problem("consumption_order", kinds) is None
    # Roaming draws in the same order without the bank.
    assert rules.kind_order(stored, "roaming") == [k for k in kinds if k != "rollover"]


def test_the_stored_forms_are_the_two_names_and_the_24_lists():
    assert len(CONSUMPTION_ORDERS) == 26 == len(set(CONSUMPTION_ORDERS))
    lists = {",".join(order) for order in permutations(KINDS)}
    assert set(CONSUMPTION_ORDERS) == lists | {"rollover_first", "rollover_last"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            ["bonus", "addon", "bonuss", "rollover"],
            Problem("plan.consumption_order[2]", "unknown kind", "bonuss"),
        ),
        (
            ["bonus", "bonus", "allowance", "rollover"],
            Problem("plan.consumption_order[1]", "names a kind twice", "bonus"),
        ),
        (
            ["bonus", "allowance", "rollover"],
            Problem(
                "plan.consumption_order",
                "must name each of the four kinds: missing addon",
                ["bonus", "allowance", "rollover"],
            ),
        ),
        (
            ["Bonus", "addon", "allowance", "rollover"],
            Problem("plan.consumption_order[0]", "unknown kind", "Bonus"),
        ),
        (
            "pack_first",
            Problem(
                "plan.consumption_order",
                "must be rollover_first, rollover_last or a list of the kinds",
                "pack_first",
            ),
        ),
        (
            7,
            Problem(
                "plan.consumption_order",
                "must be rollover_first, rollover_last or a list of the kinds",
                7,
            ),
        ),
    ],
)
def test_a_bad_order_is_refused_with_the_value(value, problem):
    assert rules.order_problem("plan.consumption_order", value) == problem


def terms(**changes):
    values = {
        "plan_id": 1,
        "monthly_allowance_bytes": 10 * 10**9,
        "roaming_allowance_bytes": 0,
        "rollover": True,
        "rollover_months": 12,
        "rollover_cap_bytes": None,
        "consumption_order": "rollover_last",
        "rollover_bank_cap_bytes": None,
        "rollover_on_plan_change": "forfeit",
        "roaming_mode": "separate",
        "roaming_fair_use_bytes": None,
        "when_pool_is_empty": "overage",
    }
    return SimpleNamespace(**{**values, **changes})


def test_forfeit_fires_on_any_change_that_allocation_or_closing_reads():
    before = terms()
    assert not rules.forfeits(before, terms())  # saving the same values is no change
    assert not rules.forfeits(before, None)  # no terms after: nothing to compare
    assert rules.forfeits(before, terms(plan_id=2))
    assert rules.forfeits(before, terms(rollover_cap_bytes=5))
    assert rules.forfeits(before, terms(when_pool_is_empty="slowed"))
    # The same order written as its list is the same order.
    same = terms(consumption_order="allowance,bonus,addon,rollover")
    assert not rules.forfeits(before, same)
    assert rules.forfeits(before, terms(consumption_order="rollover_first"))


def test_forfeit_on_downgrade_fires_only_when_the_allowance_gets_smaller():
    before = terms(rollover_on_plan_change="forfeit_on_downgrade")
    assert rules.forfeits(before, terms(monthly_allowance_bytes=5 * 10**9))
    assert not rules.forfeits(before, terms(monthly_allowance_bytes=20 * 10**9))
    assert not rules.forfeits(before, terms(monthly_allowance_bytes=None))  # to unlimited
    assert not rules.forfeits(before, terms(plan_id=2, rollover_cap_bytes=1))
    unlimited = terms(rollover_on_plan_change="forfeit_on_downgrade", monthly_allowance_bytes=None)
    assert rules.forfeits(unlimited, terms(monthly_allowance_bytes=100 * 10**9))


def test_keep_never_forfeits():
    before = terms(rollover_on_plan_change="keep")
    assert not rules.forfeits(before, terms(plan_id=2, monthly_allowance_bytes=1))
