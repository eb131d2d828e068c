"""Manual usage entry: the HTMX form region, and the same form without JavaScript."""

import json
import re
from datetime import UTC, datetime

import pytest

from tests.factories import GB, MB
from tests.integration.pages.helpers import Page, htmx
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def paul(client, family):
    client.force_login(family.member.user)
    return client


def form(amount="1.5", unit="GB", zone="domestic", at=""):
    return {"amount": amount, "unit": unit, "zone": zone, "at": at}


def pauls_records(family):
    return list(
        UsageRecord.objects.filter(member=family.member)
        .order_by("started_at")
        .values_list("bytes", "zone", "started_at")
    )


def test_htmx_success_returns_the_fresh_form_and_triggers_a_refresh(paul, family, rendered):
    response = htmx(paul, "post", "/usage/record/", data=form())
    body = response.content.decode().strip()

    assert response.status_code == 200
    assert rendered == ["web/dashboard.html#record-form"]
    assert body.startswith('<section id="record"')
    assert "<html" not in body
    assert json.loads(response["HX-Trigger"]) == {"usage-recorded": {}}
    assert "HX-Request" in response["Vary"]
    assert Page(body).text("record-note") == "Recorded. The pool is up to date."
    # A fresh form: the amount is not kept for a second, accidental submit.
    assert 'name="amount"' in body
    assert 'value="1.5"' not in body
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert pauls_records(family)[-1] == (1_500_000_000, "domestic", now)


def test_after_an_htmx_record_the_live_region_shows_the_new_figures(paul, family):
    htmx(paul, "post", "/usage/record/", data=form(amount="250", unit="MB", zone="roaming"))
    page = Page(htmx(paul, "get", "/").content)

    # Paul: 1.5 GB + 500 MB before, now 250 MB more (roaming).
    assert page.bytes("member-used-paul") == 2_250_000_000
    assert page.bytes("pool-remaining-roaming") == 2 * GB - 500 * MB - 250 * MB
    assert page.bytes("pool-remaining-domestic") == 13_500_000_000


def test_a_time_in_the_form_is_read_in_the_households_time_zone(paul, family):
    htmx(paul, "post", "/usage/record/", data=form(amount="10", unit="MB", at="2026-03-14T08:30"))

    # 08:30 in Paris (UTC+1 in March before the change to summer time) is 07:30 UTC.
    assert (10 * MB, "domestic", datetime(2026, 3, 14, 7, 30, tzinfo=UTC)) in pauls_records(family)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (form(amount="0"), "amount", "Ensure this value is greater than or equal to 0.001."),
        (form(amount=""), "amount", "This field is required."),
        (form(amount="lots"), "amount", "Enter a number."),
        (
            form(amount="20000", unit="TB"),
            "unit",
            "Select a valid choice. TB is not one of the available choices.",
        ),
        (
            form(amount="20000", unit="GB"),
            "amount",
            "must be from 1 to 10^13 bytes (20000000000000)",
        ),
        (
            form(at="2026-03-15T13:10"),
            "at",
            "is more than 5 minutes in the future (2026-03-15T13:10:00+01:00)",
        ),
        (
            form(at="2026-01-20T10:00"),
            "at",
            "falls in period 2026-01, which is closed (2026-01-20T10:00:00+01:00)",
        ),
        (
            form(at="2025-12-31T23:00"),
            "at",
            "is before the household's start period 2026-01 (2025-12-31T23:00:00+01:00)",
        ),
        (form(zone="moon"), "zone", "Select a valid choice. moon is not one of the"),
    ],
)
def test_htmx_error_returns_the_form_with_the_error_inline(
    paul, family, rendered, data, field, message
):
    before = pauls_records(family)

    response = htmx(paul, "post", "/usage/record/", data=data)
    body = response.content.decode().strip()

    # htmx swaps only 2xx responses: the errors come back with 200.
    assert response.status_code == 200
    assert rendered == ["web/dashboard.html#record-form"]
    assert body.startswith('<section id="record"')
    assert "<html" not in body
    assert "HX-Trigger" not in response
    assert Page(body).text(f"error-{field}").startswith(message)
    assert "record-note" not in Page(body).testids()
    assert pauls_records(family) == before


def test_htmx_error_keeps_what_was_typed(paul):
    response = htmx(paul, "post", "/usage/record/", data=form(amount="3", at="2026-03-15T13:10"))
    body = response.content.decode()

    assert 'value="3"' in body
    assert 'value="2026-03-15T13:10"' in body


def test_a_time_less_than_5_minutes_ahead_is_accepted(paul, family):
    response = htmx(paul, "post", "/usage/record/", data=form(amount="1", at="2026-03-15T13:04"))

    assert json.loads(response["HX-Trigger"]) == {"usage-recorded": {}}
    assert (GB, "domestic", datetime(2026, 3, 15, 12, 4, tzinfo=UTC)) in pauls_records(family)


def test_without_htmx_success_redirects_to_the_dashboard_with_a_message(paul, family):
    response = paul.post("/usage/record/", data=form(amount="700", unit="MB"))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert pauls_records(family)[-1][0] == 700 * MB
    page = paul.get("/")
    assert [str(m) for m in page.context["messages"]] == ["Recorded. The pool is up to date."]
    assert "Recorded. The pool is up to date." in page.content.decode()
    assert Page(page.content).bytes("member-used-paul") == 2_700_000_000


def test_without_htmx_an_error_shows_the_whole_page_with_422(paul, family, rendered):
    before = pauls_records(family)

    response = paul.post("/usage/record/", data=form(at="2026-01-20T10:00"))
    body = response.content.decode()

    assert response.status_code == 422
    assert rendered == ["web/dashboard.html"]
    assert body.startswith("<!doctype html>")
    page = Page(body)
    assert page.text("error-at") == (
        "falls in period 2026-01, which is closed (2026-01-20T10:00:00+01:00)"
    )
    # The rest of the dashboard is there, with the figures unchanged.
    assert page.bytes("pool-remaining-domestic") == 13_500_000_000
    assert pauls_records(family) == before


def test_the_owner_records_like_any_member(client, family):
    client.force_login(family.owner.user)

    response = htmx(client, "post", "/usage/record/", data=form(amount="2"))

    assert json.loads(response["HX-Trigger"]) == {"usage-recorded": {}}
    assert UsageRecord.objects.filter(member=family.owner, bytes=2 * GB).count() == 2


def described_and_ids(body: str) -> tuple[set[str], set[str]]:
    described = {
        target
        for value in re.findall(r'aria-describedby="([^"]+)"', body)
        for target in value.split()
    }
    return described, set(re.findall(r' id="([^"]+)"', body))


def test_help_texts_and_errors_are_linked_to_their_fields(paul):
    """Screen readers read a field's help and error through ``aria-describedby``: every
    id it names must exist."""
    body = htmx(paul, "post", "/usage/record/", data=form(amount="0")).content.decode()

    described, ids = described_and_ids(body)

    assert {"id_amount_error", "id_at_helptext"} <= described
    assert described <= ids
