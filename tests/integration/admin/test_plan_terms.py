"""The plan form's carrier terms (SPEC R7–R12): the order set with four selects or a
quick choice, the fair-use volume only with roaming from the domestic allowance, and
the EU minimum beside it."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from plans.models import Plan, Terms
from tests.factories import GB
from tests.integration.admin.helpers import form_data

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:plans_plan_add")
PACKS_FIRST = {
    "order_1": "bonus",
    "order_2": "addon",
    "order_3": "allowance",
    "order_4": "rollover",
}


def plan_data(household, **changes) -> dict:
    data = {
        "household": household.pk,
        "name": "Family 250 GB",
        "monthly_price": "19.99",
        "monthly_allowance_bytes": "250GB",
        "roaming_allowance_bytes": "",
        "rollover_months": 1,
        "rollover_cap_bytes": "",
        "consumption_order": "rollover_first",
    }
    return data | changes


def errors_of(response) -> dict:
    assert response.status_code == 200
    return response.context["adminform"].form.errors


def change_url(plan) -> str:
    return reverse("admin:plans_plan_change", args=[plan.pk])


def test_add_a_plan_with_every_carrier_term(owner_client, alpha):
    data = plan_data(
        alpha.household,
        rollover="on",
        rollover_bank_cap_bytes="20GB",
        rollover_on_plan_change="forfeit",
        consumption_order="custom",
        roaming_mode="from_domestic",
        roaming_fair_use_bytes="35GB",
        when_pool_is_empty="slowed",
        **PACKS_FIRST,
    )
    assert owner_client.post(ADD_URL, data).status_code == 302
    plan = Plan.objects.get(name="Family 250 GB")
    assert plan.consumption_order == "bonus,addon,allowance,rollover"
    assert plan.rollover_bank_cap_bytes == 20 * GB
    assert plan.rollover_on_plan_change == "forfeit"
    assert (plan.roaming_mode, plan.roaming_fair_use_bytes) == ("from_domestic", 35 * GB)
    assert plan.when_pool_is_empty == "slowed"


def test_terms_left_out_of_a_post_keep_their_defaults(owner_client, alpha):
    assert owner_client.post(ADD_URL, plan_data(alpha.household)).status_code == 302
    plan = Plan.objects.get(name="Family 250 GB")
    assert (plan.consumption_order, plan.rollover_bank_cap_bytes) == ("rollover_first", None)
    assert (plan.rollover_on_plan_change, plan.roaming_mode) == ("keep", "separate")
    assert (plan.roaming_fair_use_bytes, plan.when_pool_is_empty) == (None, "overage")


@pytest.mark.parametrize("name", ["rollover_first", "rollover_last"])
def test_a_quick_choice_is_its_named_order_whatever_the_selects_say(owner_client, alpha, name):
    data = plan_data(alpha.household, consumption_order=name, **PACKS_FIRST)
    assert owner_client.post(ADD_URL, data).status_code == 302
    assert Plan.objects.get(name="Family 250 GB").consumption_order == name


def test_four_selects_equal_to_a_named_order_are_stored_as_its_name(owner_client, alpha):
    places = {"order_1": "allowance", "order_2": "bonus", "order_3": "addon", "order_4": "rollover"}
    data = plan_data(alpha.household, consumption_order="custom", **places)
    assert owner_client.post(ADD_URL, data).status_code == 302
    assert Plan.objects.get(name="Family 250 GB").consumption_order == "rollover_last"


def test_a_kind_in_two_places_is_a_field_error(owner_client, alpha):
    places = PACKS_FIRST | {"order_3": "bonus"}
    response = owner_client.post(
        ADD_URL, plan_data(alpha.household, consumption_order="custom", **places)
    )
    assert errors_of(response) == {
        "order_3": ["Bonuses (promotions) is already used earlier: each kind goes in one place."]
    }
    assert not Plan.objects.filter(name="Family 250 GB").exists()


def test_an_unknown_kind_is_a_field_error(owner_client, alpha):
    places = PACKS_FIRST | {"order_2": "bonuss"}
    response = owner_client.post(
        ADD_URL, plan_data(alpha.household, consumption_order="custom", **places)
    )
    assert list(errors_of(response)) == ["order_2"]
    assert not Plan.objects.filter(name="Family 250 GB").exists()


def test_a_place_left_empty_is_a_field_error(owner_client, alpha):
    places = PACKS_FIRST | {"order_4": ""}
    response = owner_client.post(
        ADD_URL, plan_data(alpha.household, consumption_order="custom", **places)
    )
    assert errors_of(response) == {"order_4": ["Choose a kind for this place."]}


def test_a_fair_use_volume_with_a_separate_roaming_allowance_is_a_form_error(owner_client, alpha):
    data = plan_data(alpha.household, roaming_mode="separate", roaming_fair_use_bytes="35GB")
    response = owner_client.post(ADD_URL, data)
    assert errors_of(response) == {
        "roaming_fair_use_bytes": [
            "Means nothing with a roaming allowance of its own: leave it empty, or choose "
            "roaming out of the domestic allowance."
        ]
    }
    assert not Plan.objects.filter(name="Family 250 GB").exists()


def test_switching_back_to_separate_roaming_keeping_the_volume_is_a_form_error(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    Plan.objects.filter(pk=plan.pk).update(roaming_mode="from_domestic", roaming_fair_use_bytes=GB)
    url = change_url(plan)
    data = form_data(owner_client.get(url)) | {"roaming_mode": "separate"}
    response = owner_client.post(url, data)
    assert list(errors_of(response)) == ["roaming_fair_use_bytes"]
    plan.refresh_from_db()
    assert (plan.roaming_mode, plan.roaming_fair_use_bytes) == ("from_domestic", GB)


def test_change_page_shows_a_custom_order_in_the_four_selects(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    Plan.objects.filter(pk=plan.pk).update(consumption_order="bonus,addon,allowance,rollover")
    Terms.objects.filter(plan=plan).update(consumption_order="bonus,addon,allowance,rollover")
    data = form_data(owner_client.get(change_url(plan)))
    assert data["consumption_order"] == "custom"
    assert {name: data[name] for name in PACKS_FIRST} == PACKS_FIRST
    # Posted back unchanged, nothing changes: no new terms.
    terms = Terms.objects.filter(household=alpha.household).count()
    assert owner_client.post(change_url(plan), data).status_code == 302
    plan.refresh_from_db()
    assert plan.consumption_order == "bonus,addon,allowance,rollover"
    assert Terms.objects.filter(household=alpha.household).count() == terms


def test_change_page_shows_a_named_order_as_its_quick_choice(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    Plan.objects.filter(pk=plan.pk).update(consumption_order="rollover_last")
    data = form_data(owner_client.get(change_url(plan)))
    assert data["consumption_order"] == "rollover_last"
    assert [data[f"order_{i}"] for i in range(1, 5)] == ["allowance", "bonus", "addon", "rollover"]


def test_editing_the_order_of_a_plan_in_use_applies_from_the_next_period(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    url = change_url(plan)
    data = form_data(owner_client.get(url)) | {"consumption_order": "custom", **PACKS_FIRST}
    assert owner_client.post(url, data).status_code == 302
    april = Terms.objects.get(household=alpha.household, period="2026-04")
    assert april.consumption_order == "bonus,addon,allowance,rollover"


def test_the_eu_minimum_is_shown_beside_the_fair_use_volume_in_from_domestic_mode(
    owner_client, alpha
):
    plan = Plan.objects.get(household=alpha.household)
    Plan.objects.filter(pk=plan.pk).update(
        monthly_price=Decimal("10.00"), roaming_mode="from_domestic"
    )
    page = owner_client.get(change_url(plan)).content.decode()
    # The clock says 2026: 2 × 10 ÷ 1.10 = 18.18 GB.
    assert "EU minimum for €10.00 in 2026: 18.2 GB (18181818181 bytes)." in page


def test_the_eu_minimum_is_not_offered_for_fair_use_with_separate_roaming(owner_client, alpha):
    plan = Plan.objects.get(household=alpha.household)
    Plan.objects.filter(pk=plan.pk).update(monthly_price=Decimal("10.00"))
    page = owner_client.get(change_url(plan)).content.decode()
    assert "EU minimum for €10.00" not in page


def test_the_eu_minimum_is_shown_again_when_a_from_domestic_post_is_refused(owner_client, alpha):
    data = plan_data(
        alpha.household,
        monthly_price="10.00",
        roaming_mode="from_domestic",
        monthly_allowance_bytes="5XB",
    )
    response = owner_client.post(ADD_URL, data)
    assert list(errors_of(response)) == ["monthly_allowance_bytes"]
    assert "EU minimum for €10.00 in 2026: 18.2 GB" in response.content.decode()


def test_use_eu_minimum_fills_the_fair_use_volume(owner_client, alpha):
    data = plan_data(
        alpha.household,
        monthly_price="10.00",
        roaming_mode="from_domestic",
        roaming_fair_use_bytes="1GB",
        use_eu_minimum_fair_use="on",
    )
    assert owner_client.post(ADD_URL, data).status_code == 302
    assert Plan.objects.get(name="Family 250 GB").roaming_fair_use_bytes == 18_181_818_181


def test_use_eu_minimum_for_fair_use_needs_from_domestic_and_a_price(owner_client, alpha):
    data = plan_data(alpha.household, use_eu_minimum_fair_use="on")
    assert errors_of(owner_client.post(ADD_URL, data)) == {
        "use_eu_minimum_fair_use": ["Only with roaming out of the domestic allowance."]
    }
    data = plan_data(
        alpha.household,
        monthly_price="",
        roaming_mode="from_domestic",
        use_eu_minimum_fair_use="on",
    )
    assert errors_of(owner_client.post(ADD_URL, data)) == {
        "monthly_price": ["Needed to work out the EU minimum."]
    }
    assert not Plan.objects.filter(name="Family 250 GB").exists()


def test_the_add_page_explains_each_term_with_a_real_plan(owner_client):
    # Help texts are shown as written, choice labels escaped: read the page as text.
    page = html.unescape(owner_client.get(ADD_URL).content.decode())
    for words in (
        "T-Mobile's Data Stash",
        "AT&T, Vodafone, Telstra",
        "Nu Mobile",
        "35GB of Free's 250 GB plan",
        "Google Fi, T-Mobile, Bouygues",
        "Australian data banking",
        "iD Mobile and Vodafone UK pay-as-you-go",
        "O2 UK's consumer plans",
    ):
        assert words in page, words
    assert 'name="order_1"' in page and 'name="order_4"' in page


def test_the_list_shows_the_order_as_kinds(owner_client, alpha):
    Plan.objects.filter(household=alpha.household).update(
        consumption_order="bonus,addon,allowance,rollover"
    )
    page = owner_client.get(reverse("admin:plans_plan_changelist")).content.decode()
    assert "bonus → addon → allowance → rollover" in page


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-1", "1e999999", "ten"])
def test_a_bad_price_in_from_domestic_mode_is_a_field_error_not_a_500(owner_client, alpha, price):
    data = plan_data(alpha.household, monthly_price=price, roaming_mode="from_domestic")
    assert list(errors_of(owner_client.post(ADD_URL, data))) == ["monthly_price"]
