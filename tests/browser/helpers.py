"""Helpers for the browser tests: waiting for htmx, signing in."""

from __future__ import annotations

from contextlib import contextmanager

PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's
# A page that never settles fails in seconds, not after Playwright's 30 s.
TIMEOUT_MS = 10_000


def wait_for_htmx(page) -> None:
    """Until no htmx request is in flight (htmx marks its element ``htmx-request``)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=TIMEOUT_MS)


@contextmanager
def htmx_settles(page, swaps: int = 1):
    """Around an action: wait until htmx has settled ``swaps`` more swaps after it
    (counting ``htmx:afterSettle``), then until nothing is in flight."""
    page.evaluate(
        """() => {
            if (window.__settled === undefined) {
                window.__settled = 0;
                document.addEventListener("htmx:afterSettle", () => window.__settled++);
            }
        }"""
    )
    before = page.evaluate("window.__settled")
    yield
    page.wait_for_function(f"() => window.__settled >= {before + swaps}", timeout=TIMEOUT_MS)
    wait_for_htmx(page)


def sign_in(page, live_server, username: str = "paul") -> None:
    """Through the sign-in form, as a person would."""
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(live_server.url + "/", timeout=TIMEOUT_MS)
