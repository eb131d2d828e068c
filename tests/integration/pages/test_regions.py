"""Each page twice: the full page, and what an HTMX request gets (its region only)."""

import pytest

from tests.integration.pages.helpers import Page, htmx

pytestmark = pytest.mark.django_db


@pytest.fixture
def marie(client, family):
    client.force_login(family.owner.user)
    return client


def test_dashboard_full_page(marie, rendered):
    response = marie.get("/")
    body = response.content.decode()

    assert response.status_code == 200
    assert rendered == ["web/dashboard.html"]
    assert "_base.html" in [t.name for t in response.templates]
    assert body.startswith("<!doctype html>")
    assert '<section id="live"' in body
    assert '<section id="record"' in body
    assert "HX-Request" in response["Vary"]


def test_dashboard_htmx_gets_the_live_region_only(marie, rendered):
    response = htmx(marie, "get", "/")
    body = response.content.decode().strip()

    assert response.status_code == 200
    assert rendered == ["web/dashboard.html#live"]
    assert body.startswith('<section id="live"')
    assert body.endswith("</section>")
    assert "<html" not in body
    assert '<section id="record"' not in body
    assert "HX-Request" in response["Vary"]
    # The region holds every live figure, so the swap refreshes all of them.
    page = Page(body)
    assert page.bytes("pool-remaining-domestic") == 13_500_000_000
    assert page.bytes("member-used-marie") == 2_000_000_000
    assert {"days-left", "data-as-of", "rollover-remaining", "pack"} <= page.testids()


def test_the_live_region_polls_itself_and_refreshes_after_a_record(marie):
    body = marie.get("/").content.decode()
    live = body[body.index('<section id="live"') :]
    opening = live[: live.index(">")]

    assert 'hx-get="/"' in opening
    assert 'hx-swap="outerHTML"' in opening
    assert "usage-recorded from:body" in opening
    assert "every 60s" in opening


def test_my_usage_full_page(marie, rendered):
    response = marie.get("/usage/")
    body = response.content.decode()

    assert response.status_code == 200
    assert rendered == ["web/my_usage.html"]
    assert body.startswith("<!doctype html>")
    assert 'data-testid="my-usage"' in body
    assert "HX-Request" in response["Vary"]


def test_my_usage_htmx_gets_the_rows_only(marie, rendered):
    response = htmx(marie, "get", "/usage/")
    body = response.content.decode().strip()

    assert response.status_code == 200
    assert rendered == ["web/my_usage.html#record-rows"]
    assert body.startswith('<tr data-testid="record"')
    assert "<html" not in body
    assert "<table" not in body
    assert [r["data-bytes"] for r in Page(body).all("record")] == ["2000000000"]
    assert "HX-Request" in response["Vary"]


def test_history_full_page(marie, rendered):
    response = marie.get("/history/")
    body = response.content.decode()

    assert response.status_code == 200
    assert rendered == ["web/history.html"]
    assert body.startswith("<!doctype html>")
    assert {"history-chart", "history-table"} <= Page(body).testids()
    assert "HX-Request" in response["Vary"]


def test_history_has_no_region_an_htmx_request_gets_the_page(marie, rendered):
    """Nothing on the pages asks for history with HTMX; such a request still gets a
    whole, working page (and the response says it may vary on the header)."""
    response = htmx(marie, "get", "/history/")

    assert response.status_code == 200
    assert rendered == ["web/history.html"]
    assert "history-table" in Page(response.content).testids()
    assert "HX-Request" in response["Vary"]


def test_record_get_goes_back_to_the_dashboard(marie):
    response = marie.get("/usage/record/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_pages_refuse_other_methods(marie, method):
    assert getattr(marie, method)("/").status_code == 405
    assert getattr(marie, method)("/usage/record/").status_code == 405
