"""Every page shows only the signed-in user's own household; invitations."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from accounts.services import create_member
from tests.integration.pages.helpers import Page, htmx

pytestmark = pytest.mark.django_db

PAGES = ["/", "/usage/", "/history/", "/preferences/"]
MARTIN = {"marie", "paul", "lea"}
DURAND = {"zoe", "yann", "xavier"}


def member_testids(page: Page) -> set[str]:
    return {
        t.rsplit("-", 1)[1]
        for t in page.testids()
        if t.startswith(("member-used-", "member-cap-", "member-overage-"))
    }


@pytest.mark.parametrize("url", PAGES)
def test_each_household_sees_only_its_own_pages(client, family, other_family, url):
    client.force_login(family.member.user)
    martin = client.get(url).content.decode()
    client.force_login(other_family.member.user)
    durand = client.get(url).content.decode()

    for name in ("Zoé", "Yann", "Xavier", "Family durand", "21.0 GB", "21000000000"):
        assert name not in martin
    for name in ("Marie", "Paul", "Léa", "Family martin", "13.5 GB", "13500000000"):
        assert name not in durand


def test_dashboard_members_and_pool_are_the_households_own(client, family, other_family):
    client.force_login(family.member.user)
    martin = Page(client.get("/").content)
    client.force_login(other_family.owner.user)
    durand = Page(client.get("/").content)

    assert member_testids(martin) == MARTIN
    assert member_testids(durand) == DURAND
    assert martin.bytes("pool-remaining-domestic") == 13_500_000_000
    # Durand: 50 GB, 21 GB (zoe) + 8 GB (yann) used.
    assert durand.bytes("pool-remaining-domestic") == 21_000_000_000
    assert durand.bytes("member-used-zoe") == 21_000_000_000
    assert durand.bytes("member-cap-xavier") == 7_000_000_000


def test_htmx_region_is_scoped_too(client, family, other_family):
    client.force_login(other_family.member.user)

    page = Page(htmx(client, "get", "/").content)

    assert member_testids(page) == DURAND


def test_my_usage_lists_only_my_own_records(client, family, other_family):
    client.force_login(family.member.user)

    rows = Page(client.get("/usage/").content).all("record")

    # Paul: 1.5 GB domestic and 500 MB roaming this period; nobody else's.
    assert [r["data-bytes"] for r in rows] == ["500000000", "1500000000"]


def test_history_lists_only_the_households_own_closes(client, family, other_family):
    client.force_login(other_family.member.user)

    page = Page(client.get("/history/").content)

    # Durand has recorded nothing before March: January and February closed, empty.
    assert {t for t in page.testids() if t.startswith("history-20")} == {
        "history-2026-01",
        "history-2026-02",
    }
    assert page.one("history-2026-01")["text"].split()[1:3] == ["0", "B"]


def test_inviting_a_member_of_another_household_is_not_found(client, family, other_family):
    client.force_login(family.owner.user)

    response = client.post(f"/members/{other_family.member.pk}/invite/")

    assert response.status_code == 404
    assert mail.outbox == []


def test_only_the_owner_invites(client, family, django_capture_on_commit_callbacks):
    client.force_login(family.member.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/members/{family.capped.pk}/invite/")

    assert response.status_code == 403
    assert mail.outbox == []


def test_only_the_owner_sees_the_invitation_buttons(client, family):
    create_member(family.household, username="nina", email="nina@example.org")
    client.force_login(family.owner.user)
    owner_page = client.get("/").content.decode()
    client.force_login(family.member.user)
    member_page = client.get("/").content.decode()

    invite = f'action="/members/{get_user_model().objects.get(username="nina").member.pk}/invite/"'
    assert owner_page.count("Send invitation") == 1  # nina only: the others have a password
    assert invite in owner_page
    assert "/invite/" not in member_page


def test_invitation_email_link_lets_the_member_choose_a_password_and_sign_in(
    client, family, django_capture_on_commit_callbacks
):
    nina = create_member(
        family.household, username="nina", email="nina@example.org", display_name="Nina"
    )
    client.force_login(family.owner.user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = htmx(client, "post", f"/members/{nina.pk}/invite/")

    assert response.status_code == 200
    assert response.content.decode() == "Invitation sent to nina@example.org."
    assert len(callbacks) == 1
    [email] = mail.outbox
    assert email.to == ["nina@example.org"]
    assert "Hello Nina," in email.body
    assert "Your username is nina." in email.body
    [link] = re.findall(r"http://testserver(/accounts/reset/\S+/)", email.body)

    client.logout()
    form = client.get(link, follow=True)
    assert form.status_code == 200
    assert form.context["validlink"] is True
    set_password = form.redirect_chain[-1][0]
    done = client.post(
        set_password,
        {"new_password1": "a long family passphrase", "new_password2": "a long family passphrase"},
    )
    assert done.status_code == 302
    assert done["Location"] == "/accounts/reset/done/"

    assert client.login(username="nina", password="a long family passphrase")
    assert Page(client.get("/").content).bytes("member-used-nina") == 0
    # The link works once.
    assert client.get(link, follow=True).context["validlink"] is False


def test_the_invitation_is_sent_only_after_commit(
    client, family, django_capture_on_commit_callbacks
):
    nina = create_member(family.household, username="nina", email="nina@example.org")
    client.force_login(family.owner.user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(f"/members/{nina.pk}/invite/")
        assert mail.outbox == []

    assert len(callbacks) == 1


def test_inviting_without_htmx_redirects_with_a_message(
    client, family, django_capture_on_commit_callbacks
):
    nina = create_member(family.household, username="nina", email="nina@example.org")
    client.force_login(family.owner.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/members/{nina.pk}/invite/", follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Invitation sent to nina@example.org."
    ]
    assert len(mail.outbox) == 1


def test_inviting_a_member_without_email_says_why(client, family):
    nina = create_member(family.household, username="nina")
    client.force_login(family.owner.user)

    response = htmx(client, "post", f"/members/{nina.pk}/invite/")

    assert response.status_code == 200
    assert response.content.decode() == "the member has no email address (nina)"
    assert mail.outbox == []


def test_invite_is_post_only(client, family):
    client.force_login(family.owner.user)

    assert client.get(f"/members/{family.member.pk}/invite/").status_code == 405
