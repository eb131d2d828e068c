"""The dashboard's notice list (inside the live region) and dismissing a notice."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import GB
from tests.integration.alerts.conftest import JAN_20, make_family
from usage import alerts
from usage.models import AlertDelivery

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def warned(record, monkeypatch):
    """Pool low (8 GB of 10 GB used) and Léa's cap near (4 GB of 5 GB) in January; the
    pages read the clock at 2026-01-20 12:00 Paris."""
    monkeypatch.setattr(timezone, "now", lambda: JAN_20)
    family = make_family()
    record(family.lea, 4 * GB)
    record(family.paul, 4 * GB)
    return family


def kinds(html: str) -> list[str]:
    return re.findall(r'data-testid="notice" data-kind="([a-z_]+)"', html)


def test_the_dashboard_lists_each_members_notices_newest_first(client, warned):
    client.force_login(warned.lea.user)
    page = client.get(reverse("usage:dashboard"))
    assert page.status_code == 200
    assert kinds(page.content.decode()) == ["pool_low", "cap_near"]
    assert "Domestic pool low" in page.content.decode()

    client.force_login(warned.max.user)  # no cap alert for Max
    assert kinds(client.get(reverse("usage:dashboard")).content.decode()) == ["pool_low"]


def test_the_live_region_refreshed_by_htmx_carries_the_notices(client, warned):
    client.force_login(warned.lea.user)
    response = client.get(reverse("usage:dashboard"), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<section id="live"')
    assert "<html" not in html
    assert kinds(html) == ["pool_low", "cap_near"]


def test_no_notice_section_without_notices(client):
    family = make_family()
    client.force_login(family.paul.user)
    assert 'data-testid="notices"' not in client.get(reverse("usage:dashboard")).content.decode()


def test_dismiss_with_htmx_answers_empty_and_hides_the_notice(client, warned):
    notice = AlertDelivery.objects.get(member=warned.lea, alert__kind="cap_near")
    client.force_login(warned.lea.user)
    response = client.post(reverse("usage:dismiss_notice", args=[notice.pk]), headers=HTMX)
    assert (response.status_code, response.content) == (200, b"")
    notice.refresh_from_db()
    assert notice.dismissed_at is not None
    assert kinds(client.get(reverse("usage:dashboard")).content.decode()) == ["pool_low"]
    # The owner's copy of the same alert stays on the owner's page.
    client.force_login(warned.owner.user)
    assert kinds(client.get(reverse("usage:dashboard")).content.decode()) == [
        "pool_low",
        "cap_near",
    ]


def test_dismiss_without_htmx_redirects_to_the_dashboard(client, warned):
    notice = AlertDelivery.objects.get(member=warned.paul, alert__kind="pool_low")
    client.force_login(warned.paul.user)
    response = client.post(reverse("usage:dismiss_notice", args=[notice.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("usage:dashboard")
    assert alerts.notices(warned.paul) == []


def test_another_member_cannot_dismiss_a_notice(client, warned):
    """Max posts the dismissal of Paul's notice (same household) and Zoe's (another
    household): 404 both times, both notices stay."""
    pauls = AlertDelivery.objects.get(member=warned.paul, alert__kind="pool_low")
    other = make_family()
    client.force_login(warned.max.user)
    assert client.post(reverse("usage:dismiss_notice", args=[pauls.pk])).status_code == 404
    assert (
        client.post(reverse("usage:dismiss_notice", args=[pauls.pk]), headers=HTMX).status_code
        == 404
    )
    client.force_login(other.owner.user)
    assert client.post(reverse("usage:dismiss_notice", args=[pauls.pk])).status_code == 404
    pauls.refresh_from_db()
    assert pauls.dismissed_at is None
    assert [n.pk for n in alerts.notices(warned.paul)] == [pauls.pk]


def test_dismissing_twice_or_by_get_is_refused(client, warned):
    notice = AlertDelivery.objects.get(member=warned.paul, alert__kind="pool_low")
    url = reverse("usage:dismiss_notice", args=[notice.pk])
    client.force_login(warned.paul.user)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 404


def test_dismissing_needs_a_signed_in_member(client, warned):
    notice = AlertDelivery.objects.get(member=warned.paul, alert__kind="pool_low")
    response = client.post(reverse("usage:dismiss_notice", args=[notice.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    notice.refresh_from_db()
    assert notice.dismissed_at is None
