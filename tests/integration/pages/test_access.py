"""Who may see the pages: signed-in, active members of a household."""

import re

import pytest
from django.contrib.auth import SESSION_KEY

from tests.factories import UserFactory
from tests.integration.pages.helpers import Page, htmx
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

PAGES = ["/", "/usage/", "/history/", "/preferences/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_anonymous_visitors_to_sign_in(client, family, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_recording_needs_a_signed_in_member(client, family):
    count = UsageRecord.objects.count()

    response = htmx(client, "post", "/usage/record/", data={"amount": "1", "unit": "GB"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/usage/record/"
    assert UsageRecord.objects.count() == count


def test_inviting_needs_a_signed_in_member(client, family):
    response = client.post(f"/members/{family.member.pk}/invite/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_in_with_the_form_then_land_on_the_dashboard(client, family):
    login = client.get("/accounts/login/?next=/history/")
    assert "sign-in" in Page(login.content).testids()

    response = client.post(
        "/accounts/login/",
        {"username": "paul", "password": "pw-for-tests", "next": "/history/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/history/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, family):
    response = client.post("/accounts/login/", {"username": "paul", "password": "nope"})

    assert response.status_code == 200
    assert (
        Page(response.content)
        .text("login-error")
        .startswith("Please enter a correct username and password.")
    )
    assert SESSION_KEY not in client.session


def test_sign_out_is_post_only(client, family):
    client.force_login(family.member.user)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200  # still signed in

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/").status_code == 302


def test_every_page_has_the_sign_out_form(client, family):
    client.force_login(family.member.user)
    for url in PAGES:
        body = client.get(url).content.decode()
        assert '<form method="post" action="/accounts/logout/"' in body
        assert 'data-testid="sign-out"' in body


@pytest.mark.parametrize("url", PAGES)
def test_a_user_without_a_household_is_forbidden(client, family, url):
    client.force_login(UserFactory(username="stranger"))

    assert client.get(url).status_code == 403


def test_a_user_without_a_household_cannot_record_or_invite(client, family):
    client.force_login(UserFactory(username="stranger"))
    count = UsageRecord.objects.count()

    assert htmx(client, "post", "/usage/record/", data={"amount": "1"}).status_code == 403
    assert client.post(f"/members/{family.member.pk}/invite/").status_code == 403
    assert UsageRecord.objects.count() == count


@pytest.mark.parametrize("url", PAGES)
def test_an_inactive_member_is_forbidden(client, family, url):
    family.member.active = False
    family.member.save(update_fields=["active"])
    client.force_login(family.member.user)

    assert client.get(url).status_code == 403


def test_an_inactive_member_cannot_record(client, family):
    family.member.active = False
    family.member.save(update_fields=["active"])
    client.force_login(family.member.user)
    count = UsageRecord.objects.count()

    response = client.post("/usage/record/", data={"amount": "1", "unit": "GB"})

    assert response.status_code == 403
    assert UsageRecord.objects.count() == count


@pytest.mark.parametrize("url", ["/accounts/password_change/", "/accounts/login/"])
def test_account_forms_link_help_and_errors_to_their_fields(client, family, url):
    if url != "/accounts/login/":
        client.force_login(family.member.user)
    body = client.post(url, {}).content.decode()

    described = {
        target
        for value in re.findall(r'aria-describedby="([^"]+)"', body)
        for target in value.split()
    }

    assert described  # help texts or errors
    assert described <= set(re.findall(r' id="([^"]+)"', body))
