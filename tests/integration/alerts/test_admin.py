"""Thresholds per household in the admin: the owner sets them on the household page
(AlertSettingsInline); the alerts and their deliveries are listed, scoped to the
owner's household (AlertAdmin)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import GB, MB
from tests.integration.admin.helpers import form_data, inline_prefix
from tests.integration.alerts.conftest import JAN_20, fired, make_family
from usage.models import Alert, AlertSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: JAN_20)
    family = make_family()
    client.force_login(family.owner.user)
    client.family = family
    return client


def household_page(client):
    url = reverse("admin:accounts_household_change", args=[client.family.household.pk])
    response = client.get(url)
    assert response.status_code == 200
    return url, response


def test_the_owner_sets_the_pool_threshold_to_50_percent_and_it_fires_there(owner_client, record):
    """Pool low at 50 % (cap near and the days left at the defaults): 4.9 GB of 10 GB
    used -> nothing, 5 GB -> pool_low with threshold 50."""
    url, response = household_page(owner_client)
    prefix = inline_prefix(response, AlertSettings)
    data = form_data(response) | {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-0-pool_low_percent": "50",
        f"{prefix}-0-cap_near_percent": "",
        f"{prefix}-0-rollover_warn_days": "",
        f"{prefix}-0-rollover_last_warn_days": "",
    }
    saved = owner_client.post(url, data)
    assert saved.status_code == 302, saved.context and saved.context["errors"]
    household = owner_client.family.household
    settings = AlertSettings.objects.get(household=household)
    assert (settings.pool_low_percent, settings.cap_near_percent) == (50, None)

    family = owner_client.family
    record(family.paul, 4900 * MB)
    assert fired(household) == []
    record(family.max, 100 * MB)
    assert fired(household) == [("pool_low", "domestic", 50, "2026-01")]
    record(family.lea, 4 * GB)  # cap near still at the default 80 %
    assert fired(household)[-1] == ("cap_near", f"member:{family.lea.pk}", 80, "2026-01")


def test_a_threshold_out_of_range_is_a_form_error(owner_client):
    url, response = household_page(owner_client)
    prefix = inline_prefix(response, AlertSettings)
    data = form_data(response) | {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-0-cap_near_percent": "100",
    }
    refused = owner_client.post(url, data)
    assert refused.status_code == 200
    assert "Ensure this value is less than or equal to 99." in refused.content.decode()
    assert not AlertSettings.objects.exists()


def test_the_alert_list_shows_the_owners_household_only(owner_client, record):
    family, other = owner_client.family, make_family()
    record(family.paul, 8 * GB)
    record(other.paul, 8 * GB)
    response = owner_client.get(reverse("admin:usage_alert_changelist"))
    assert response.status_code == 200
    assert [a.household for a in response.context["cl"].result_list] == [family.household]

    mine = Alert.objects.get(household=family.household)
    page = owner_client.get(reverse("admin:usage_alert_change", args=[mine.pk]))
    assert page.status_code == 200
    assert "Olga" in page.content.decode()
    theirs = Alert.objects.get(household=other.household)
    hidden = owner_client.get(reverse("admin:usage_alert_change", args=[theirs.pk]))
    assert (hidden.status_code, hidden["Location"]) == (302, reverse("admin:index"))
