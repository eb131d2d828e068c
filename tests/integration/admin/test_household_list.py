"""The household list: its figures come from one light read for the whole page, not a
status snapshot per row, and a first reading of a period opens it as a status read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Household
from core.admin import human
from plans.models import Bucket
from tests.factories import GB, household_with_plan
from usage.selectors import snapshot

pytestmark = pytest.mark.django_db

URL = reverse("admin:accounts_household_changelist")


def listed(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def cell(text: str) -> str:
    return f'<td class="field-domestic_left">{text}</td>'


def test_the_figure_is_the_status_reads_and_the_query_count_does_not_grow(
    superuser_client, alpha, bravo
):
    superuser_client.get(URL)
    few, body = listed(superuser_client)
    for household in (alpha.household, bravo.household):
        assert cell(human(snapshot(household).remaining["domestic"])) in body

    for _ in range(6):
        household_with_plan(monthly_allowance_bytes=5 * GB)
    superuser_client.get(URL)  # opens the new households' periods
    many, _ = listed(superuser_client)
    assert many == few


def test_a_first_reading_opens_the_current_period_as_a_status_read(superuser_client, clock):
    household = household_with_plan(monthly_allowance_bytes=None)  # unlimited
    _, body = listed(superuser_client)
    household.refresh_from_db()
    assert household.opened_through == "2026-03"
    assert Bucket.objects.filter(household=household, kind="allowance").count() == 3
    assert cell("unlimited") in body


def test_a_household_without_a_plan_opens_nothing(superuser_client, clock):
    household = Household.objects.create(slug="bare", name="Bare", start_period="2026-01")
    listed(superuser_client)
    household.refresh_from_db()
    assert household.opened_through == ""
