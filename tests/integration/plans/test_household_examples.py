"""Every household file in docs/examples/ is one ``import_household`` accepts, and it
stores the plan terms its README says it shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plans.models import Plan, Terms
from plans.services import import_household
from tests.factories import GB

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)

# What each file shows, as stored (a consumption order in its one stored form).
EXPECTED = {
    "stash-capped-in-total.json": {
        "rollover": True,
        "rollover_months": 12,
        "rollover_bank_cap_bytes": 20 * GB,
        "consumption_order": "rollover_last",
    },
    "forfeit-on-plan-change.json": {
        "rollover": True,
        "consumption_order": "rollover_last",
        "rollover_on_plan_change": "forfeit",
    },
    "eu-fair-use.json": {
        "monthly_allowance_bytes": 250 * GB,
        "roaming_allowance_bytes": 0,
        "roaming_mode": "from_domestic",
        "roaming_fair_use_bytes": 35 * GB,
    },
    "packs-first-bank-last.json": {
        "rollover": True,
        "rollover_bank_cap_bytes": 200 * GB,
        "consumption_order": "bonus,addon,allowance,rollover",
    },
    "slowed-when-empty.json": {
        "monthly_allowance_bytes": 50 * GB,
        "when_pool_is_empty": "slowed",
    },
}


def test_every_example_has_its_expectations():
    assert sorted(path.name for path in EXAMPLES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_example_is_accepted_and_stores_its_terms(name):
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    report = import_household(data, now=NOW)
    assert report.plan_state == "created"
    plan = Plan.objects.get(household__slug=data["household"]["slug"])
    terms = Terms.objects.get(plan=plan)
    expected = EXPECTED[name]
    assert {field: getattr(plan, field) for field in expected} == expected
    assert {field: getattr(terms, field) for field in expected} == expected
    # The README names each file.
    assert f"`{name}`" in (EXAMPLES / "README.md").read_text(encoding="utf-8")
