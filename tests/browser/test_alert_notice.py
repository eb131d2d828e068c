"""Issue #6 in a browser: Léa records the usage that takes her past 80 % of her cap on
the dashboard's form (HTMX); the live region refreshes on the ``usage-recorded`` event
and shows the alert; she dismisses it and it is gone, also after a reload."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.helpers import htmx_settles, sign_in
from tests.factories import GB, MB, MemberFactory, household_with_plan
from usage.models import AlertDelivery
from usage.services import record_usage

pytestmark = pytest.mark.django_db(transaction=True)

# 2026-01-20 12:00 in Paris, period 2026-01. The live server runs in this process, so
# it reads the same patched clock.
NOW = datetime(2026, 1, 20, 12, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def lea(monkeypatch):
    """Léa, a 5 GB cap that notifies, 3.9 GB used; Olga owns the 10 GB household."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    household = household_with_plan(slug="olsen", monthly_allowance_bytes=10 * GB)
    MemberFactory(household=household, user__username="olga", display_name="Olga", role="owner")
    lea = MemberFactory(
        household=household, user__username="lea", display_name="Léa", monthly_cap_bytes=5 * GB
    )
    record_usage(lea, bytes=3900 * MB, at=datetime(2026, 1, 20, 9, tzinfo=NOW.tzinfo), now=NOW)
    return lea


def test_a_cap_notice_appears_after_recording_and_goes_when_dismissed(
    live_server, page: Page, lea, wait_for_htmx, mailoutbox
):
    sign_in(page, live_server, "lea")
    expect(page.get_by_test_id("member-used-lea")).to_have_attribute("data-bytes", str(3900 * MB))
    expect(page.get_by_test_id("notice")).to_have_count(0)

    # 100 MB more: 4 GB of 5 GB, 80 %. The form posts with HTMX; the page does not reload.
    page.evaluate("window.__same_page = true")
    page.get_by_label("Amount").fill("100")
    page.get_by_label("Unit").select_option("MB")
    with htmx_settles(page, swaps=2):  # the form, then the live region it refreshes
        page.get_by_test_id("record-submit").click()
    expect(page.get_by_test_id("record-note")).to_be_visible()
    notice = page.get_by_test_id("notice")
    expect(notice).to_have_count(1)
    expect(notice).to_have_attribute("data-kind", "cap_near")
    expect(notice).to_contain_text("Monthly cap nearly reached")
    expect(notice).to_contain_text("2026-01")
    expect(page.get_by_test_id("member-used-lea")).to_have_attribute("data-bytes", str(4 * GB))
    assert page.evaluate("window.__same_page") is True
    assert sorted(m.to[0] for m in mailoutbox) == ["lea@example.org", "olga@example.org"]

    # Dismissed in place with HTMX, and still gone after a reload.
    notice.get_by_test_id("dismiss").click()
    expect(page.get_by_test_id("notice")).to_have_count(0)
    wait_for_htmx(page)
    assert page.evaluate("window.__same_page") is True
    assert AlertDelivery.objects.get(member=lea).dismissed_at is not None
    assert AlertDelivery.objects.get(member__user__username="olga").dismissed_at is None
    page.reload()
    expect(page.get_by_test_id("member-used-lea")).to_be_visible()
    expect(page.get_by_test_id("notice")).to_have_count(0)
