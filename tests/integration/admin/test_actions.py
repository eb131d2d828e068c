"""Issue 5 actions: grant (custom view), extend a rollover's expiry, close ended periods
now, and the invitation email."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.services import create_member
from plans.models import Bucket, LedgerEntry, PeriodClose
from tests.factories import GB
from tests.integration.admin.helpers import messages_of
from usage.ledger import find_violations
from usage.selectors import pool_status

pytestmark = pytest.mark.django_db

GRANT_URL = reverse("admin:plans_bucket_grant")
BUCKETS_URL = reverse("admin:plans_bucket_changelist")
HOUSEHOLDS_URL = reverse("admin:accounts_household_changelist")
MEMBERS_URL = reverse("admin:accounts_member_changelist")


def counts() -> tuple[int, int, int]:
    return Bucket.objects.count(), LedgerEntry.objects.count(), PeriodClose.objects.count()


# --- grant -------------------------------------------------------------------------------


def test_grant_form_opens_for_the_owner(owner_client, alpha):
    response = owner_client.get(GRANT_URL)
    assert response.status_code == 200
    assert response.templates[0].name == "admin/plans/grant_form.html"
    assert response.context["household"] == alpha.household
    assert 'data-testid="grant-submit"' in response.content.decode()


def test_grant_5gb_addon_shows_in_pool_status(owner_client, alpha):
    before = pool_status(alpha.household)
    # 2026-03: allowance 10 GB + rollover 7 GB + 1 GB add-on.
    assert before["remaining_bytes"]["domestic"] == 18 * GB

    response = owner_client.post(
        GRANT_URL,
        {"kind": "addon", "zone": "domestic", "amount": "5GB", "note": "Holiday pack"},
        follow=True,
    )
    assert response.redirect_chain == [(BUCKETS_URL, 302)]
    bucket = Bucket.objects.get(note="Holiday pack")
    assert (bucket.kind, bucket.zone, bucket.period) == ("addon", "domestic", "2026-03")
    assert (bucket.granted_bytes, bucket.left_bytes) == (5_000_000_000, 5_000_000_000)
    # Valid from now (2026-03-15 12:00 UTC) to the end of March in Paris.
    assert bucket.valid_from == datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert bucket.expires_at == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert messages_of(response) == [f"Granted 5.00 GB (5000000000) ({bucket})."]
    entry = LedgerEntry.objects.get(bucket=bucket)
    assert (entry.kind, entry.bytes) == ("grant", 5 * GB)

    after = pool_status(alpha.household)
    assert after["remaining_bytes"]["domestic"] == 23 * GB
    assert after["remaining_bytes"]["roaming"] == before["remaining_bytes"]["roaming"]
    packs = [b for b in after["buckets"] if b["kind"] == "addon"]
    assert [p["granted_bytes"] for p in packs] == [GB, 5 * GB]


def test_grant_reads_typed_times_in_the_households_zone(owner_client, alpha):
    owner_client.post(
        GRANT_URL,
        {
            "kind": "bonus",
            "zone": "roaming",
            "amount": "500MB",
            "at": "2026-03-20T10:00",
            "expires_at": "2026-04-10T00:00",
            "note": "Promo",
        },
    )
    bucket = Bucket.objects.get(note="Promo")
    assert (bucket.kind, bucket.zone, bucket.granted_bytes) == ("bonus", "roaming", 500 * 10**6)
    # 10:00 and midnight in Paris (UTC+1, then UTC+2 from 29 March).
    assert bucket.valid_from == datetime(2026, 3, 20, 9, tzinfo=UTC)
    assert bucket.expires_at == datetime(2026, 4, 9, 22, tzinfo=UTC)


@pytest.mark.parametrize("amount", ["5XB", "", "-5GB", "five", "1.5B"])
def test_grant_refuses_a_bad_amount(owner_client, alpha, amount):
    before = counts()
    response = owner_client.post(GRANT_URL, {"kind": "addon", "zone": "domestic", "amount": amount})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["amount"]
    if amount == "5XB":
        assert errors["amount"] == [
            "must be bytes, or an amount with a unit such as 500MB or 5GB (5XB)"
        ]
    assert counts() == before


def test_grant_refuses_an_amount_over_10_to_the_13(owner_client, alpha):
    before = counts()
    response = owner_client.post(GRANT_URL, {"kind": "addon", "zone": "domestic", "amount": "11TB"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "amount": ["must be from 1 to 10^13 bytes (11000000000000)"]
    }
    assert counts() == before


def test_grant_refuses_an_expiry_before_its_start(owner_client, alpha):
    before = counts()
    response = owner_client.post(
        GRANT_URL,
        {
            "kind": "addon",
            "zone": "domestic",
            "amount": "5GB",
            "at": "2026-03-20T10:00",
            "expires_at": "2026-03-18T10:00",
        },
    )
    assert response.status_code == 200
    # Beside the field it is about, with both times in the household's zone.
    assert response.context["form"].errors == {
        "expires_at": [
            "must be after the grant time 2026-03-20T10:00:00+01:00 (2026-03-18T10:00:00+01:00)"
        ]
    }
    assert counts() == before


def test_grant_refuses_a_time_in_a_closed_period(owner_client, alpha):
    before = counts()
    response = owner_client.post(
        GRANT_URL, {"kind": "addon", "zone": "domestic", "amount": "1GB", "at": "2026-01-20T10:00"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "at": ["falls in period 2026-01, which is closed (2026-01-20T10:00:00+01:00)"]
    }
    assert counts() == before


def test_grant_view_is_closed_to_a_plain_member(member_client, alpha):
    response = member_client.post(
        GRANT_URL, {"kind": "addon", "zone": "domestic", "amount": "5GB", "note": "x"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Bucket.objects.filter(note="x").exists()


def test_superuser_grants_to_the_household_named_in_the_url(superuser_client, alpha, bravo):
    response = superuser_client.post(
        f"{GRANT_URL}?household={bravo.household.pk}",
        {"kind": "addon", "zone": "domestic", "amount": "2GB", "note": "from root"},
        follow=True,
    )
    assert response.redirect_chain == [(BUCKETS_URL, 302)]
    assert Bucket.objects.get(note="from root").household == bravo.household
    # Without a household the superuser is sent back to the index.
    response = superuser_client.get(GRANT_URL, follow=True)
    assert response.redirect_chain == [(reverse("admin:index"), 302)]
    assert messages_of(response) == ["Open the grant form from a household."]


# --- extend a rollover's expiry ----------------------------------------------------------


def extend(client, bucket, expires_at: str | None, note: str = ""):
    """The action in two steps: choose the bucket (the form), then apply."""
    data = {"action": "extend_expiry", ACTION_CHECKBOX_NAME: [bucket.pk]}
    if expires_at is not None:
        data |= {"apply": "1", "expires_at": expires_at, "note": note}
    return client.post(BUCKETS_URL, data)


def test_extend_expiry_of_a_rollover_bucket(owner_client, alpha):
    bucket = alpha.rollover  # 7 GB left, valid until the end of April in Paris
    assert bucket.expires_at == datetime(2026, 4, 30, 22, tzinfo=UTC)

    form = extend(owner_client, bucket, None)
    assert form.status_code == 200
    assert form.templates[0].name == "admin/plans/extend_form.html"
    assert form.context["bucket"] == bucket

    response = extend(owner_client, bucket, "2026-05-31T00:00", note="Spring promotion")
    assert response.status_code == 302
    bucket.refresh_from_db()
    assert bucket.expires_at == datetime(2026, 5, 30, 22, tzinfo=UTC)
    assert bucket.left_bytes == 7 * GB  # no byte moved
    entry = LedgerEntry.objects.get(kind="extension")
    assert (entry.bucket, entry.household, entry.bytes) == (bucket, alpha.household, None)
    assert entry.at == datetime(2026, 3, 15, 12, tzinfo=UTC)
    prefix, moved = entry.note.split(": expiry moved from ")
    assert prefix == "Spring promotion"
    old, new = (datetime.fromisoformat(text) for text in moved.split(" to "))
    assert (old, new) == (datetime(2026, 4, 30, 22, tzinfo=UTC), bucket.expires_at)
    assert find_violations() == []
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger clean" in out.getvalue()
    # The extended bucket still counts now and shows its new expiry in pool_status.
    status = pool_status(alpha.household)
    [rollover] = [b for b in status["buckets"] if b["kind"] == "rollover" and b["remaining_bytes"]]
    assert rollover["expires_at"] == "2026-05-31T00:00:00+02:00"


def test_extend_expiry_is_refused_for_an_addon(owner_client, alpha):
    before = alpha.addon.expires_at
    response = extend(owner_client, alpha.addon, "2026-05-31T00:00")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"bucket: only a rollover bucket's expiry can be extended ({alpha.addon.pk})"
    ]
    assert 'class="errornote"' in response.content.decode()
    alpha.addon.refresh_from_db()
    assert alpha.addon.expires_at == before
    assert not LedgerEntry.objects.filter(kind="extension").exists()


def test_extend_expiry_is_refused_for_an_expired_bucket(owner_client, alpha, clock):
    # January's rollover (3 GB, used up in February) ended with March.
    january = Bucket.objects.get(household=alpha.household, kind="rollover", period="2026-01")
    clock.set(datetime(2026, 4, 5, 12, tzinfo=UTC))
    owner_client.force_login(alpha.owner.user)  # the first session has expired by then
    response = extend(owner_client, january, "2026-06-30T00:00")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "bucket: has already expired (2026-03-31T22:00:00+00:00)"
    ]
    january.refresh_from_db()
    assert january.expires_at == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert not LedgerEntry.objects.filter(kind="extension").exists()


def test_extend_expiry_is_refused_for_an_earlier_date(owner_client, alpha):
    response = extend(owner_client, alpha.rollover, "2026-04-15T00:00")
    assert response.status_code == 200
    [error] = response.context["form"].errors["expires_at"]
    assert error.startswith("must be after the current expiry 2026-04-30T22:00:00")
    assert not LedgerEntry.objects.filter(kind="extension").exists()


def test_extend_expiry_needs_exactly_one_bucket(owner_client, alpha):
    response = owner_client.post(
        BUCKETS_URL,
        {
            "action": "extend_expiry",
            ACTION_CHECKBOX_NAME: [alpha.rollover.pk, alpha.addon.pk],
            "apply": "1",
            "expires_at": "2026-05-31T00:00",
        },
        follow=True,
    )
    assert messages_of(response) == ["Select exactly one rollover bucket."]
    assert not LedgerEntry.objects.filter(kind="extension").exists()


# --- close ended periods now -------------------------------------------------------------


def close_action(client, household, *, confirm: bool):
    data = {"action": "close_ended_periods", ACTION_CHECKBOX_NAME: [household.pk]}
    if confirm:
        data["confirm"] = "1"
    return client.post(HOUSEHOLDS_URL, data, follow=confirm)


def test_close_now_previews_then_closes_exactly_those_periods(owner_client, alpha, bravo, clock):
    # 2026-05-20: March and April ended and their grace passed; neither is closed.
    # March: 10 GB allowance unused (usage came from the rollover) -> 10 GB roll over;
    #        the 1 GB add-on expires.
    # April: 10 GB unused -> 10 GB roll over; February's 9 GB rollover (7 GB left)
    #        reaches its end and expires.
    clock.set(datetime(2026, 5, 20, 12, tzinfo=UTC))
    owner_client.force_login(alpha.owner.user)  # the first session has expired by then
    before = counts()

    preview = close_action(owner_client, alpha.household, confirm=False)
    assert preview.status_code == 200
    assert preview.templates[0].name == "admin/usage/close_confirm.html"
    [(household, report)] = preview.context["previews"]
    assert household == alpha.household and report.dry_run
    [result] = report.results
    figures = [(c.period, c.unused_bytes, c.rolled_bytes, c.expired_bytes) for c in result.closes]
    assert figures == [
        ("2026-03", 10 * GB, 10 * GB, 1 * GB),
        ("2026-04", 10 * GB, 10 * GB, 7 * GB),
    ]
    content = preview.content.decode()
    rows = re.findall(
        r'<td>2026-0\d</td><td data-bytes="(\d+)">[^<]*</td><td data-bytes="(\d+)"', content
    )
    assert rows == [("10000000000", "1000000000"), ("10000000000", "7000000000")]
    assert "Nothing has been written yet." in content
    assert counts() == before  # the preview wrote nothing

    done = close_action(owner_client, alpha.household, confirm=True)
    assert done.redirect_chain == [(HOUSEHOLDS_URL, 302)]
    assert "Closed 2 period(s); 0 household(s) failed." in messages_of(done)
    closes = PeriodClose.objects.filter(household=alpha.household).order_by("period")
    assert [(c.period, c.unused_bytes, c.rolled_bytes, c.expired_bytes) for c in closes] == [
        ("2026-01", 3 * GB, 3 * GB, 0),
        ("2026-02", 9 * GB, 9 * GB, 0),
        *figures,
    ]
    # B was not selected: its March and April stay open.
    assert list(
        PeriodClose.objects.filter(household=bravo.household).values_list("period", flat=True)
    ) == ["2026-02", "2026-01"]
    status = pool_status(alpha.household)
    assert [h["period"] for h in status["history"]] == ["2026-04", "2026-03", "2026-02", "2026-01"]
    assert status["awaiting_close"] == []

    # A second time there is nothing left to close.
    again = close_action(owner_client, alpha.household, confirm=False)
    [(_, report)] = again.context["previews"]
    assert [r.closes for r in report.results] == [[]]
    assert "Nothing to close" in again.content.decode()
    after = counts()
    done = close_action(owner_client, alpha.household, confirm=True)
    assert "Closed 0 period(s); 0 household(s) failed." in messages_of(done)
    assert counts() == after


def test_close_now_within_the_grace_closes_nothing(owner_client, alpha, clock):
    # 2026-04-01 12:00 UTC: March ended 14 hours ago, still in its 48-hour grace.
    clock.set(datetime(2026, 4, 1, 12, tzinfo=UTC))
    owner_client.force_login(alpha.owner.user)
    preview = close_action(owner_client, alpha.household, confirm=False)
    assert "Nothing to close" in preview.content.decode()
    close_action(owner_client, alpha.household, confirm=True)
    assert not PeriodClose.objects.filter(period="2026-03").exists()


# --- invitations -------------------------------------------------------------------------


def test_invitation_email_link_lets_the_member_choose_a_password(
    owner_client, alpha, django_capture_on_commit_callbacks
):
    carla = create_member(alpha.household, username="carla", email="carla@example.org")
    assert not carla.user.has_usable_password()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            MEMBERS_URL,
            {"action": "send_invitations", ACTION_CHECKBOX_NAME: [carla.pk]},
            follow=True,
        )
    assert "Invitation sent to carla@example.org." in messages_of(response)
    [email] = mail.outbox
    assert email.to == ["carla@example.org"]
    assert "Your username is carla." in email.body
    [link] = re.findall(r"http://testserver(/accounts/reset/\S+/)", email.body)

    browser = Client()
    page = browser.get(link, follow=True)
    assert page.status_code == 200
    set_password_url = page.redirect_chain[-1][0]
    assert set_password_url.endswith("/set-password/")
    password = "a-long-Pass-phrase-42"
    done = browser.post(
        set_password_url, {"new_password1": password, "new_password2": password}, follow=True
    )
    assert done.redirect_chain[-1][0] == reverse("password_reset_complete")
    carla.user.refresh_from_db()
    assert carla.user.has_usable_password()

    signed_in = browser.post(
        reverse("login"), {"username": "carla", "password": password}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == reverse("usage:dashboard")
    assert signed_in.context["user"].username == "carla"
    # The link works once.
    assert Client().get(link, follow=True).redirect_chain == []


def test_invitation_needs_an_email_address(owner_client, alpha, django_capture_on_commit_callbacks):
    dan = create_member(alpha.household, username="dan")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            MEMBERS_URL,
            {"action": "send_invitations", ACTION_CHECKBOX_NAME: [dan.pk]},
            follow=True,
        )
    assert mail.outbox == []
    assert messages_of(response) == ["dan: the member has no email address (dan)"]


def test_grant_form_grants_a_pack_that_rolls_over(owner_client, alpha):
    """SPEC R11: the grant form's checkbox; a roaming pack that rolls over is refused
    beside the field."""
    owner_client.post(
        GRANT_URL,
        {
            "kind": "addon",
            "zone": "domestic",
            "amount": "2GB",
            "note": "Banked",
            "rolls_over": "on",
        },
    )
    assert Bucket.objects.get(note="Banked").rolls_over is True
    response = owner_client.post(
        GRANT_URL,
        {"kind": "addon", "zone": "roaming", "amount": "2GB", "note": "No", "rolls_over": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["rolls_over"] == [
        "a roaming grant cannot roll over (roaming)"
    ]
    assert not Bucket.objects.filter(note="No").exists()
