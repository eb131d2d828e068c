"""Issue 5 in a browser: the owner grants a 5 GB add-on in the admin and sees it on the
dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from plans.models import Bucket
from tests.browser.helpers import TIMEOUT_MS, sign_in, wait_for_htmx
from tests.factories import GB

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def domestic_left(page) -> int:
    wait_for_htmx(page)
    return int(page.get_by_test_id("pool-remaining-domestic").get_attribute("data-bytes"))


def test_owner_grants_a_5gb_addon_and_sees_it_on_the_dashboard(page, live_server, family):
    sign_in(page, live_server, "marie")
    expect(page.get_by_test_id("pack")).to_have_count(0)
    before = domestic_left(page)
    assert before >= 7 * GB  # 10 GB - 2 GB - 1 GB this period, plus what rolled over

    # The admin's index shows the same pool, with a link to the grant form.
    page.goto(live_server.url + "/admin/")
    pool = page.get_by_test_id("admin-pool-domestic")
    expect(pool).to_have_attribute("data-bytes", str(before))
    page.get_by_role("link", name="Grant an add-on or a bonus").click()
    expect(page.locator("h1")).to_have_text("Grant an add-on or a bonus to Family martin")

    # A bad amount is refused beside the field, and nothing is granted.
    page.get_by_label("Kind").select_option("addon")
    page.get_by_label("Zone").select_option("domestic")
    page.get_by_label("Amount").fill("5XB")
    page.get_by_test_id("grant-submit").click()
    expect(page.locator(".errorlist")).to_have_text(
        "must be bytes, or an amount with a unit such as 500MB or 5GB (5XB)"
    )
    assert not Bucket.objects.filter(kind="addon").exists()

    page.get_by_label("Amount").fill("5GB")
    page.get_by_label("Note").fill("Holiday pack")
    page.get_by_test_id("grant-submit").click()
    page.wait_for_url(live_server.url + "/admin/plans/bucket/", timeout=TIMEOUT_MS)
    expect(page.locator(".messagelist")).to_contain_text("Granted 5.00 GB (5000000000)")
    bucket = Bucket.objects.get(kind="addon")
    assert (bucket.household, bucket.granted_bytes) == (family.household, 5 * GB)

    # The dashboard lists the pack and counts it in the domestic pool.
    page.goto(live_server.url + "/")
    pack = page.get_by_test_id("pack")
    expect(pack).to_have_count(1)
    expect(pack).to_have_attribute("data-kind", "addon")
    expect(pack).to_have_attribute("data-bytes", "5000000000")
    assert domestic_left(page) == before + 5 * GB
