"""A family member's journey in a real browser, and the dashboard on a phone."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.browser.helpers import htmx_settles, sign_in, wait_for_htmx
from tests.factories import GB, MB
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


def test_sign_in_record_usage_see_history_sign_out(page, live_server, family):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/accounts/login/?next=/")
    sign_in(page, live_server, "paul")

    # The pool: 10 GB - 2 GB - 1 GB this period, plus what rolled over.
    domestic = page.get_by_test_id("pool-remaining-domestic")
    expect(domestic).to_be_visible()
    before = int(domestic.get_attribute("data-bytes"))
    assert before >= 7 * GB
    expect(page.get_by_test_id("member-used-paul")).to_have_attribute("data-bytes", str(GB))
    expect(page.get_by_test_id("member-used-marie")).to_have_attribute("data-bytes", str(2 * GB))
    bar = page.locator("li.mine .bar .fill")
    assert bar.get_attribute("style") == "width: 50.0%"  # 1 GB of marie's 2 GB

    # Record 1.5 GB with the HTMX form: the form, then the live region, are swapped.
    page.evaluate("window.__noReload = 1")
    page.get_by_label("Amount").fill("1.5")
    page.get_by_label("Unit").select_option("GB")
    with htmx_settles(page, swaps=2):
        page.get_by_test_id("record-submit").click()

    expect(page.get_by_test_id("record-note")).to_have_text("Recorded. The pool is up to date.")
    expect(domestic).to_have_attribute("data-bytes", str(before - 1500 * MB))
    expect(page.get_by_test_id("member-used-paul")).to_have_attribute("data-bytes", str(2500 * MB))
    expect(page.get_by_test_id("member-used-paul")).to_have_text("2.50\xa0GB")
    expect(bar).to_have_attribute("style", "width: 100.0%")  # paul now used the most
    assert page.evaluate("window.__noReload") == 1
    assert UsageRecord.objects.filter(member=family.member, bytes=1500 * MB).exists()

    # A bad amount: the error shows inline, nothing is recorded, still no reload.
    page.get_by_label("Amount").fill("0")
    with htmx_settles(page):
        page.get_by_test_id("record-submit").click()
    expect(page.get_by_test_id("error-amount")).to_have_text(
        "Ensure this value is greater than or equal to 0.001."
    )
    expect(page.get_by_test_id("record-note")).to_have_count(0)
    expect(domestic).to_have_attribute("data-bytes", str(before - 1500 * MB))
    assert page.evaluate("window.__noReload") == 1
    assert UsageRecord.objects.filter(member=family.member).count() == 3
    expect(page.get_by_test_id("htmx-error")).to_be_hidden()

    # History: the chart and the table of closed periods.
    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(live_server.url + "/history/")
    expect(page.get_by_test_id("history-chart")).to_be_visible()
    expect(page.get_by_test_id("history-table")).to_be_visible()
    first = family.household.first_period.key
    expect(page.get_by_test_id(f"history-{first}").locator("td").first).to_have_attribute(
        "data-bytes", str(6 * GB)
    )

    # Sign out: back on the sign-in page, and the pages are closed again.
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(live_server.url + "/accounts/login/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/accounts/login/?next=/")


def test_the_live_region_refreshes_when_someone_else_records(page, live_server, family):
    sign_in(page, live_server, "paul")
    page.evaluate("window.__noReload = 1")
    domestic = page.get_by_test_id("pool-remaining-domestic")
    before = int(domestic.get_attribute("data-bytes"))

    # Marie records on her phone; paul's page asks again every 60 s or on
    # ``usage-recorded``: send that event rather than wait a minute.
    record_usage(family.owner, bytes=300 * MB)
    with htmx_settles(page):
        page.evaluate("htmx.trigger(document.body, 'usage-recorded')")

    expect(domestic).to_have_attribute("data-bytes", str(before - 300 * MB))
    expect(page.get_by_test_id("member-used-marie")).to_have_attribute("data-bytes", str(2300 * MB))
    assert page.evaluate("window.__noReload") == 1


def test_a_csrf_failure_is_shown_not_swallowed(page, live_server, family):
    sign_in(page, live_server, "paul")
    # As after the session changed in another tab: the token no longer matches.
    page.context.clear_cookies(name="csrftoken")
    page.get_by_label("Amount").fill("1")
    page.get_by_test_id("record-submit").click()
    wait_for_htmx(page)

    expect(page.get_by_test_id("htmx-error")).to_be_visible()
    expect(page.get_by_test_id("htmx-error")).to_contain_text("Your session has expired")
    assert UsageRecord.objects.filter(member=family.member).count() == 2


def signed_in_context(browser, live_server, member, **context_args):
    """A browser context with a session made by Django's test client (no form)."""
    client = Client()
    client.force_login(member.user)
    context = browser.new_context(**context_args)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


@pytest.mark.parametrize("path", ["/", "/history/", "/usage/", "/accounts/login/"])
def test_nothing_overflows_on_a_375_px_phone(browser, live_server, family, path):
    context = signed_in_context(browser, live_server, family.owner, viewport=PHONE)
    if path == "/accounts/login/":
        context.clear_cookies()
    page = context.new_page()
    page.goto(live_server.url + path)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


def test_the_record_form_works_on_a_phone(browser, live_server, family):
    context = signed_in_context(browser, live_server, family.member, viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("Amount").fill("200")
    page.get_by_label("Unit").select_option("MB")
    with htmx_settles(page, swaps=2):
        page.get_by_test_id("record-submit").click()

    expect(page.get_by_test_id("member-used-paul")).to_have_attribute("data-bytes", str(1200 * MB))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
