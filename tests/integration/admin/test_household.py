"""Issue 5 household page: rename, plan, calendar and the members inline."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import Household, Member
from core.periods import Period
from plans.models import Bucket, Terms
from plans.selectors import terms_for
from plans.services import create_plan
from tests.factories import GB, MemberFactory, household_with_plan
from tests.integration.admin.helpers import form_data, inline_prefix, messages_of

pytestmark = pytest.mark.django_db


def page(client, household):
    url = reverse("admin:accounts_household_change", args=[household.pk])
    response = client.get(url)
    assert response.status_code == 200
    return url, response


def member_form(response, data: dict, member: Member) -> str:
    """The prefix of ``member``'s row in the members inline (e.g. ``members-1``)."""
    prefix = inline_prefix(response, Member)
    index = next(
        i
        for i in range(int(data[f"{prefix}-TOTAL_FORMS"]))
        if str(data.get(f"{prefix}-{i}-id")) == str(member.pk)
    )
    return f"{prefix}-{index}"


def calendar(household) -> tuple:
    household.refresh_from_db()
    return household.time_zone, household.cycle_day, household.start_period


def test_posting_the_page_unchanged_changes_nothing(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    members = list(Member.objects.values().order_by("pk"))
    terms = list(Terms.objects.values().order_by("pk"))
    saved = owner_client.post(url, form_data(response))
    assert saved.status_code == 302
    assert list(Member.objects.values().order_by("pk")) == members
    assert list(Terms.objects.values().order_by("pk")) == terms
    assert calendar(alpha.household) == ("Europe/Paris", 1, "2026-01")


def test_rename(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response) | {"name": "Famille Alpha"}
    saved = owner_client.post(url, data, follow=True)
    assert saved.redirect_chain[0] == (reverse("admin:accounts_household_changelist"), 302)
    alpha.household.refresh_from_db()
    assert alpha.household.name == "Famille Alpha"
    assert alpha.household.slug == "alpha"
    # The slug is read-only for an owner: posting one changes nothing.
    owner_client.post(url, form_data(page(owner_client, alpha.household)[1]) | {"slug": "x"})
    alpha.household.refresh_from_db()
    assert alpha.household.slug == "alpha"


def test_plan_change_applies_from_the_next_period(owner_client, alpha):
    bigger = create_plan(alpha.household, name="Family 50 GB", monthly_allowance_bytes=50 * GB)
    url, response = page(owner_client, alpha.household)
    saved = owner_client.post(url, form_data(response) | {"plan": bigger.pk}, follow=True)
    assert "Family 50 GB applies from 2026-04." in messages_of(saved)

    april = Terms.objects.get(household=alpha.household, period="2026-04")
    assert (april.plan, april.monthly_allowance_bytes) == (bigger, 50 * GB)
    march = terms_for(alpha.household, Period(2026, 3))
    assert march.plan.name == "Family 10 GB"
    assert march.monthly_allowance_bytes == 10 * GB
    allowance = Bucket.objects.get(household=alpha.household, kind="allowance", period="2026-03")
    assert allowance.granted_bytes == 10 * GB
    # The page now shows the new plan as the household's.
    assert (
        page(owner_client, alpha.household)[1].context["adminform"].form["plan"].value()
        == bigger.pk
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("cycle_day", 5), ("time_zone", "America/New_York"), ("start_period", "2025-12")],
)
def test_calendar_change_is_refused_once_there_is_usage(owner_client, alpha, field, value):
    url, response = page(owner_client, alpha.household)
    data = form_data(response) | {field: value, "name": "Renamed too"}
    refused = owner_client.post(url, data)
    assert refused.status_code == 200
    form = refused.context["adminform"].form
    assert form.errors == {field: ["Cannot change once the household has usage or grants."]}
    assert calendar(alpha.household) == ("Europe/Paris", 1, "2026-01")
    assert alpha.household.name == "Family alpha"


def test_calendar_change_is_accepted_before_any_usage(client, clock):
    household = household_with_plan(slug="fresh", monthly_allowance_bytes=10 * GB)
    owner = MemberFactory(household=household, user__username="fay", role="owner")
    client.force_login(owner.user)
    url, response = page(client, household)
    data = form_data(response) | {"cycle_day": 5, "time_zone": "America/New_York"}
    saved = client.post(url, data)
    assert saved.status_code == 302
    assert calendar(household) == ("America/New_York", 5, "2026-01")
    # The plan is still in force from the start period.
    [terms] = Terms.objects.filter(household=household)
    assert (terms.period, terms.monthly_allowance_bytes) == ("2026-01", 10 * GB)


def test_add_a_member(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    prefix = inline_prefix(response, Member)
    new = f"{prefix}-{data[f'{prefix}-INITIAL_FORMS']}"
    assert data[f"{prefix}-INITIAL_FORMS"] == 2
    data |= {
        f"{new}-username": "dora",
        f"{new}-email": "dora@example.org",
        f"{new}-display_name": "Dora",
        f"{new}-role": "member",
        f"{new}-monthly_cap_bytes": "2GB",
        f"{new}-cap_action": "block",
        f"{new}-active": "on",
    }
    saved = owner_client.post(url, data)
    assert saved.status_code == 302
    dora = Member.objects.get(user__username="dora")
    assert dora.household == alpha.household
    assert (dora.display_name, dora.role, dora.active) == ("Dora", "member", True)
    assert (dora.monthly_cap_bytes, dora.cap_action) == (2_000_000_000, "block")
    assert dora.user.email == "dora@example.org"
    assert not dora.user.has_usable_password()
    # The admin's history records the addition.
    entry = LogEntry.objects.get(object_id=str(alpha.household.pk))
    assert "Added member “Dora”." in entry.get_change_message()


def test_add_a_member_with_a_taken_username_is_refused(owner_client, alpha, bravo):
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    prefix = inline_prefix(response, Member)
    new = f"{prefix}-2"
    data |= {
        f"{new}-username": "bruno",  # B's owner
        f"{new}-role": "member",
        f"{new}-cap_action": "notify",
        f"{new}-active": "on",
    }
    refused = owner_client.post(url, data)
    assert refused.status_code == 200
    [formset] = [
        i.formset for i in refused.context["inline_admin_formsets"] if i.formset.model is Member
    ]
    assert [f.errors for f in formset.forms if f.errors] == [{"username": ["is already taken"]}]
    assert Member.objects.get(user__username="bruno").household == bravo.household
    assert Member.objects.filter(household=alpha.household).count() == 2


def test_change_a_cap_with_units(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    row = member_form(response, data, alpha.member)
    assert f"{row}-monthly_cap_bytes" not in data  # no cap yet
    data[f"{row}-monthly_cap_bytes"] = "5GB"
    assert owner_client.post(url, data).status_code == 302
    alpha.member.refresh_from_db()
    assert alpha.member.monthly_cap_bytes == 5_000_000_000
    # Shown back in units.
    again = page(owner_client, alpha.household)[1]
    assert form_data(again)[f"{row}-monthly_cap_bytes"] == "5GB"


def test_a_bad_cap_is_a_form_error(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    row = member_form(response, data, alpha.member)
    data[f"{row}-monthly_cap_bytes"] = "5XB"
    refused = owner_client.post(url, data)
    assert refused.status_code == 200
    [formset] = [
        i.formset for i in refused.context["inline_admin_formsets"] if i.formset.model is Member
    ]
    errors = [f.errors for f in formset.forms if f.errors]
    assert errors == [
        {
            "monthly_cap_bytes": [
                "must be bytes, or an amount with a unit such as 500MB or 5GB (5XB)"
            ]
        }
    ]
    alpha.member.refresh_from_db()
    assert alpha.member.monthly_cap_bytes is None


def test_swap_the_owner_in_one_save(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    data[f"{member_form(response, data, alpha.owner)}-role"] = "member"
    data[f"{member_form(response, data, alpha.member)}-role"] = "owner"
    saved = owner_client.post(url, data)
    assert saved.status_code == 302
    roles = dict(
        Member.objects.filter(household=alpha.household).values_list("user__username", "role")
    )
    assert roles == {"anna": "member", "ben": "owner"}
    assert Member.objects.filter(household=alpha.household, role="owner", active=True).count() == 1
    # Anna no longer owns the household: the admin is closed to her now.
    assert owner_client.get(reverse("admin:index")).status_code == 302


def test_two_owners_are_refused(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response) | {"name": "Not saved"}
    data[f"{member_form(response, data, alpha.member)}-role"] = "owner"
    refused = owner_client.post(url, data)
    assert refused.status_code == 200
    [formset] = [
        i.formset for i in refused.context["inline_admin_formsets"] if i.formset.model is Member
    ]
    assert formset.non_form_errors() == [
        "A household has exactly one active owner; this would give it 2."
    ]
    roles = dict(
        Member.objects.filter(household=alpha.household).values_list("user__username", "role")
    )
    assert roles == {"anna": "owner", "ben": "member"}
    assert Household.objects.get(pk=alpha.household.pk).name == "Family alpha"


def test_deactivating_the_only_owner_is_refused(owner_client, alpha):
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    data.pop(f"{member_form(response, data, alpha.owner)}-active")
    refused = owner_client.post(url, data)
    assert refused.status_code == 200
    assert Member.objects.get(pk=alpha.owner.pk).active


def test_new_members_user_has_no_usable_password(owner_client, alpha):
    """The user model count grows by exactly the member added."""
    users = get_user_model().objects.count()
    url, response = page(owner_client, alpha.household)
    data = form_data(response)
    prefix = inline_prefix(response, Member)
    data |= {
        f"{prefix}-2-username": "eve",
        f"{prefix}-2-role": "member",
        f"{prefix}-2-cap_action": "notify",
        f"{prefix}-2-active": "on",
    }
    assert owner_client.post(url, data).status_code == 302
    assert get_user_model().objects.count() == users + 1
    assert not get_user_model().objects.get(username="eve").has_usable_password()


def test_superuser_adds_a_household_with_its_owner(superuser_client):
    url = reverse("admin:accounts_household_add")
    response = superuser_client.get(url)
    assert "plan" not in response.context["adminform"].form.fields
    data = form_data(response)
    prefix = inline_prefix(response, Member)
    data |= {
        "name": "Famille Nouvelle",
        "slug": "nouvelle",
        "time_zone": "Europe/Brussels",
        "cycle_day": 15,
        "start_period": "2026-03",
        f"{prefix}-0-username": "nina",
        f"{prefix}-0-email": "nina@example.org",
        f"{prefix}-0-role": "owner",
        f"{prefix}-0-cap_action": "notify",
        f"{prefix}-0-active": "on",
    }
    assert superuser_client.post(url, data).status_code == 302
    household = Household.objects.get(slug="nouvelle")
    assert (household.name, household.time_zone, household.cycle_day) == (
        "Famille Nouvelle",
        "Europe/Brussels",
        15,
    )
    [nina] = household.members.all()
    assert (nina.username, nina.role, nina.active) == ("nina", "owner", True)
    assert not nina.user.has_usable_password()


def test_superuser_cannot_change_a_slug_that_would_be_dropped(superuser_client, alpha):
    url, response = page(superuser_client, alpha.household)
    assert "slug" not in response.context["adminform"].form.fields
    superuser_client.post(url, form_data(response) | {"slug": "renamed"})
    alpha.household.refresh_from_db()
    assert alpha.household.slug == "alpha"


def test_member_page_changes_a_cap_but_not_the_owner(owner_client, alpha):
    url = reverse("admin:accounts_member_change", args=[alpha.member.pk])
    data = form_data(owner_client.get(url)) | {"monthly_cap_bytes": "1.5GB"}
    assert owner_client.post(url, data).status_code == 302
    alpha.member.refresh_from_db()
    assert alpha.member.monthly_cap_bytes == 1_500_000_000

    refused = owner_client.post(url, data | {"role": "owner"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.non_field_errors() == [
        "Change the owner on the household page, where both members change at once."
    ]
    assert Member.objects.get(pk=alpha.member.pk).role == "member"
