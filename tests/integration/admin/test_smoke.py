"""Issue 5 smoke: every registered model's changelist, add and change page, for an
owner, a plain member and a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Household, Member

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
LABELS = [model._meta.label for model in REGISTERED]

# What A's owner gets on each page. The owner has no Django permission: auth's users and
# groups stay closed; buckets, the ledger, usage, terms and closes are an audit (no add
# page); members are added on the household page, and an owner has one household.
OWNER_EXPECTED = {
    "accounts.Household": {"changelist": 200, "add": 403, "change": 200},
    "accounts.Member": {"changelist": 200, "add": 403, "change": 200},
    "auth.Group": {"changelist": 403, "add": 403, "change": 403},
    "auth.User": {"changelist": 403, "add": 403, "change": 403},
    "plans.Bucket": {"changelist": 200, "add": 403, "change": 200},
    "plans.LedgerEntry": {"changelist": 200, "add": 403, "change": 200},
    "plans.PeriodClose": {"changelist": 200, "add": 403, "change": 200},
    "plans.Plan": {"changelist": 200, "add": 200, "change": 200},
    "plans.Terms": {"changelist": 200, "add": 403, "change": 200},
    "usage.Alert": {"changelist": 200, "add": 403, "change": 200},
    "usage.UsageRecord": {"changelist": 200, "add": 403, "change": 200},
}

# Nothing that moves bytes has an add page, for anyone; a member is added on the
# household page (the standalone member form only edits).
NO_ADD_PAGE = {
    "accounts.Member",
    "plans.Bucket",
    "plans.LedgerEntry",
    "plans.PeriodClose",
    "plans.Terms",
    "usage.Alert",
    "usage.UsageRecord",
}


def test_every_registered_model_is_covered():
    assert sorted(OWNER_EXPECTED) == LABELS


def an_object_of(model, family):
    """One of A's objects of ``model`` (auth: the owner's own user and a group)."""
    if model is Household:
        return family.household
    if model is get_user_model():
        return family.owner.user
    if model is Group:
        return Group.objects.get_or_create(name="staff")[0]
    return model._default_manager.filter(household=family.household).first()


def urls_of(model, family):
    info = (model._meta.app_label, model._meta.model_name)
    obj = an_object_of(model, family)
    assert obj is not None and obj.pk
    return {
        "changelist": reverse("admin:{}_{}_changelist".format(*info)),
        "add": reverse("admin:{}_{}_add".format(*info)),
        "change": reverse("admin:{}_{}_change".format(*info), args=[obj.pk]),
    }


@pytest.mark.parametrize("model", REGISTERED, ids=LABELS)
def test_owner_opens_every_page_they_may(owner_client, alpha, model):
    expected = OWNER_EXPECTED[model._meta.label]
    got = {page: owner_client.get(url).status_code for page, url in urls_of(model, alpha).items()}
    assert got == expected


@pytest.mark.parametrize("model", REGISTERED, ids=LABELS)
def test_plain_member_is_sent_to_the_admin_login(member_client, alpha, model):
    for url in urls_of(model, alpha).values():
        response = member_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login") + "?next="), url


@pytest.mark.parametrize("model", REGISTERED, ids=LABELS)
def test_superuser_opens_every_page(superuser_client, alpha, model):
    label = model._meta.label
    for page, url in urls_of(model, alpha).items():
        expected = 403 if page == "add" and label in NO_ADD_PAGE else 200
        assert superuser_client.get(url).status_code == expected, url


def test_admin_index_shows_the_owners_pool(owner_client, alpha, bravo):
    response = owner_client.get(reverse("admin:index"))
    assert response.status_code == 200
    pool = response.context["pool"]
    assert pool.household == alpha.household
    # 2026-03: allowance 10 GB + rollover 7 GB left (9 rolled from Feb, 2 used) + 1 GB
    # add-on = 18 GB.
    assert pool.remaining["domestic"] == 18 * 10**9
    content = response.content.decode()
    assert 'data-bytes="18000000000"' in content
    assert "Family bravo" not in content


def test_member_is_not_shown_the_admin_index(member_client):
    response = member_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_inactive_owner_is_refused(client, alpha):
    Member.objects.filter(pk=alpha.owner.pk).update(active=False)
    client.force_login(alpha.owner.user)
    assert client.get(reverse("admin:index")).status_code == 302


def test_owner_signs_in_through_the_admin_login(client, alpha):
    # Owners are not staff: the admin's own sign-in form must still let them in.
    assert not alpha.owner.user.is_staff
    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "anna", "password": "pw-for-tests", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("username", ["ben", "inactive_owner"])
def test_non_owners_cannot_sign_in_through_the_admin_login(client, alpha, username):
    if username == "inactive_owner":
        Member.objects.filter(pk=alpha.owner.pk).update(active=False)
        username = "anna"
    response = client.post(
        reverse("admin:login"), {"username": username, "password": "pw-for-tests"}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Please enter the username and password of a plan owner. "
        "Note that both fields may be case-sensitive."
    ]
    assert client.get("/admin/").status_code == 302
