"""Issue 5 plan form: the EU fair-use roaming calculator and editing a plan in use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core.periods import Period
from plans.models import Bucket, Plan, Terms
from plans.roaming import eu_minimum_roaming_bytes, wholesale_cap
from plans.selectors import terms_for
from tests.factories import GB
from tests.integration.admin.helpers import form_data

ADD_URL = reverse("admin:plans_plan_add")

# --- plans/roaming.py: 2 × price ÷ the wholesale cap per GB of the year ----------------


@pytest.mark.parametrize(
    ("price", "year", "expected"),
    [
        # €10.00 in 2026: 2 × 10 ÷ 1.10 = 18.1818… GB.
        ("10.00", 2026, 18_181_818_181),
        # 2025: 2 × 10 ÷ 1.30 = 15.3846… GB.
        ("10.00", 2025, 15_384_615_384),
        # 2027: 2 × 10 ÷ 1.00 = 20 GB, and the 2027 cap holds afterwards.
        ("10.00", 2027, 20_000_000_000),
        ("10.00", 2030, 20_000_000_000),
        # 2022: 2 × 10 ÷ 2.00 = 10 GB.
        ("10.00", 2022, 10_000_000_000),
        # €25.99 in 2026: 2 × 25.99 ÷ 1.10 = 47.2545… GB.
        ("25.99", 2026, 47_254_545_454),
        ("0", 2026, 0),
        ("0.00", 2030, 0),
    ],
)
def test_eu_minimum_worked_examples(price, year, expected):
    assert eu_minimum_roaming_bytes(Decimal(price), year) == expected


def test_eu_minimum_rounds_down_to_a_byte():
    # 2 × 0.01 ÷ 1.10 GB = 18181818.18… bytes.
    assert eu_minimum_roaming_bytes(Decimal("0.01"), 2026) == 18_181_818


def test_wholesale_caps_by_year():
    assert [wholesale_cap(y) for y in (2022, 2023, 2024, 2025, 2026, 2027, 2040)] == [
        Decimal("2.00"),
        Decimal("1.80"),
        Decimal("1.55"),
        Decimal("1.30"),
        Decimal("1.10"),
        Decimal("1.00"),
        Decimal("1.00"),
    ]


def test_eu_minimum_refuses_a_negative_price():
    with pytest.raises(ValueError, match="negative"):
        eu_minimum_roaming_bytes(Decimal("-1.00"), 2026)


def test_eu_minimum_refuses_a_year_before_the_regulation():
    with pytest.raises(ValueError, match="before 2022"):
        eu_minimum_roaming_bytes(Decimal("10.00"), 2021)


# --- the plan form ---------------------------------------------------------------------


def plan_data(household, **changes) -> dict:
    data = {
        "household": household.pk,
        "name": "Family 30 GB",
        "monthly_price": "10.00",
        "monthly_allowance_bytes": "30GB",
        "roaming_allowance_bytes": "",
        "rollover_months": 1,
        "rollover_cap_bytes": "",
        "consumption_order": "rollover_first",
    }
    return data | changes


@pytest.mark.django_db
def test_add_page_proposes_the_owners_household(owner_client, alpha):
    response = owner_client.get(ADD_URL)
    assert response.context["adminform"].form.initial["household"] == alpha.household.pk


@pytest.mark.django_db
def test_add_a_plan_with_units(owner_client, alpha):
    data = plan_data(alpha.household, roaming_allowance_bytes="1.5GB", rollover_cap_bytes="5GB")
    response = owner_client.post(ADD_URL, data | {"rollover": "on"})
    assert response.status_code == 302
    plan = Plan.objects.get(name="Family 30 GB")
    assert plan.household == alpha.household
    assert plan.monthly_allowance_bytes == 30_000_000_000
    assert plan.roaming_allowance_bytes == 1_500_000_000
    assert (plan.rollover, plan.rollover_cap_bytes) == (True, 5_000_000_000)
    assert plan.monthly_price == Decimal("10.00")
    # A new plan is not in force anywhere until the household page chooses it.
    assert not Terms.objects.filter(plan=plan).exists()


@pytest.mark.django_db
def test_empty_allowance_means_unlimited_and_empty_roaming_means_none(owner_client, alpha):
    data = plan_data(alpha.household, monthly_allowance_bytes="")
    assert owner_client.post(ADD_URL, data).status_code == 302
    plan = Plan.objects.get(name="Family 30 GB")
    assert (plan.monthly_allowance_bytes, plan.roaming_allowance_bytes) == (None, 0)


@pytest.mark.django_db
def test_use_eu_minimum_fills_the_roaming_allowance(owner_client, alpha):
    # The clock says 2026: €10.00 -> 18.18 GB, whatever was typed for roaming.
    data = plan_data(alpha.household, roaming_allowance_bytes="1GB", use_eu_minimum="on")
    assert owner_client.post(ADD_URL, data).status_code == 302
    plan = Plan.objects.get(name="Family 30 GB")
    assert plan.roaming_allowance_bytes == 18_181_818_181


@pytest.mark.django_db
def test_use_eu_minimum_follows_the_year(owner_client, alpha, clock):
    from datetime import UTC, datetime

    clock.set(datetime(2027, 1, 2, tzinfo=UTC))
    owner_client.force_login(alpha.owner.user)
    data = plan_data(alpha.household, use_eu_minimum="on", monthly_price="12.50")
    assert owner_client.post(ADD_URL, data).status_code == 302
    # 2027: 2 × 12.50 ÷ 1.00 = 25 GB.
    assert Plan.objects.get(name="Family 30 GB").roaming_allowance_bytes == 25 * GB


@pytest.mark.django_db
def test_use_eu_minimum_needs_a_price(owner_client, alpha):
    data = plan_data(alpha.household, monthly_price="", use_eu_minimum="on")
    response = owner_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "monthly_price": ["Needed to work out the EU minimum."]
    }
    assert not Plan.objects.filter(name="Family 30 GB").exists()


@pytest.mark.django_db
def test_a_negative_price_is_refused(owner_client, alpha):
    data = plan_data(alpha.household, monthly_price="-5.00", use_eu_minimum="on")
    response = owner_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "monthly_price": ["a price cannot be negative (-5.00)"]
    }
    assert not Plan.objects.filter(name="Family 30 GB").exists()
    # Without the calculator the model's own check refuses it.
    data.pop("use_eu_minimum")
    response = owner_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["monthly_price"]
    assert not Plan.objects.filter(name="Family 30 GB").exists()


@pytest.mark.django_db
def test_a_bad_amount_is_a_field_error(owner_client, alpha):
    response = owner_client.post(ADD_URL, plan_data(alpha.household, monthly_allowance_bytes="5XB"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "monthly_allowance_bytes": [
            "must be bytes, or an amount with a unit such as 500MB or 5GB (5XB)"
        ]
    }


@pytest.mark.django_db
def test_list_shows_the_eu_minimum(owner_client, alpha):
    Plan.objects.filter(household=alpha.household).update(monthly_price=Decimal("10.00"))
    response = owner_client.get(reverse("admin:plans_plan_changelist"))
    assert "18.2 GB (18181818181)" in response.content.decode()


@pytest.mark.django_db
def test_editing_a_plan_in_use_applies_from_the_next_period(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    page = owner_client.get(url)
    data = form_data(page)
    assert data["monthly_allowance_bytes"] == "10GB"
    response = owner_client.post(url, data | {"monthly_allowance_bytes": "20GB"})
    assert response.status_code == 302

    plan.refresh_from_db()
    assert plan.monthly_allowance_bytes == 20 * GB
    april = Terms.objects.get(household=alpha.household, period="2026-04")
    assert (april.plan, april.monthly_allowance_bytes) == (plan, 20 * GB)
    # March (current, opened) keeps its terms and its 10 GB allowance.
    march = terms_for(alpha.household, Period(2026, 3))
    assert march.period == "2026-01" and march.monthly_allowance_bytes == 10 * GB
    allowance = Bucket.objects.get(household=alpha.household, kind="allowance", period="2026-03")
    assert allowance.granted_bytes == 10 * GB
    assert Terms.objects.filter(household=alpha.household).count() == 2


@pytest.mark.django_db
def test_renaming_a_plan_in_use_adds_no_terms(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    data = form_data(owner_client.get(url)) | {"name": "Our plan"}
    assert owner_client.post(url, data).status_code == 302
    assert Plan.objects.get(pk=plan.pk).name == "Our plan"
    assert list(
        Terms.objects.filter(household=alpha.household).values_list("period", flat=True)
    ) == ["2026-01"]
