"""Browser journeys: pytest-playwright driving Debian's Chromium against ``live_server``.

Never ``playwright install``: the system Chromium at /usr/bin/chromium is launched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from accounts.models import Household, Member
from core.periods import Calendar
from plans.services import close_periods
from tests.browser import helpers
from tests.factories import GB, MB, MemberFactory, household_with_plan
from tools.screenshots import CHROMIUM, CHROMIUM_ARGS
from usage.services import record_usage


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Chromium against the live server")


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright():
    """Playwright's sync API runs an event loop in the test's thread, and the tests use
    the ORM there too, which Django refuses unless DJANGO_ALLOW_ASYNC_UNSAFE is set
    (playwright-pytest#29). Set it only while a browser module runs: left in
    ``os.environ`` it would reach every later subprocess, where ``check --deploy``
    fails on it (async.E001)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


# pytest-playwright's Playwright, browser type, browser and context arguments (0.10), for
# one module at a time
# instead of the whole session: its event loop stays marked as running in the main
# thread until Playwright stops, and the other tests (same xdist worker) must not run
# beside it without the variable above.


@pytest.fixture(scope="module")
def playwright(_pw_api_request_contexts):
    with sync_playwright() as started:
        if _pw_api_request_contexts:
            _pw_api_request_contexts.instrument(started)
        yield started


@pytest.fixture(scope="module")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="module")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="module")
def browser_context_args(pytestconfig, playwright, device, base_url, _pw_artifacts_folder):
    """pytest-playwright's (0.10: device, base URL, video), module-scoped like
    ``playwright`` above; English pages and Paris time, whatever the machine says."""
    args = {"locale": "en-GB", "timezone_id": "Europe/Paris"}
    if device:
        args.update(playwright.devices[device])
    if base_url:
        args["base_url"] = base_url
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        args["record_video_dir"] = _pw_artifacts_folder.name
    return args


@pytest.fixture(name="wait_for_htmx")
def wait_for_htmx_fixture():
    """``wait_for_htmx(page)`` (see tests/browser/helpers.py), for tests that take it as
    a fixture."""
    return helpers.wait_for_htmx


@dataclass
class Family:
    household: Household
    owner: Member
    member: Member


@pytest.fixture
def family(transactional_db) -> Family:
    """A household in real time (the browser's cookies expire in real time): started
    two periods ago, 10 GB domestic and 1 GB roaming, rollover on; the period before
    last closed with 6 GB used; marie used 2 GB and paul 1 GB this period."""
    now = timezone.now()
    household = household_with_plan(
        slug="martin",
        start_period=Calendar("Europe/Paris", 1).period_of(now).shift(-2).key,
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=GB,
        rollover=True,
    )
    owner = MemberFactory(
        household=household, user__username="marie", display_name="Marie", role="owner"
    )
    member = MemberFactory(household=household, user__username="paul", display_name="Paul")
    calendar = household.calendar
    first = household.first_period
    at = calendar.start(first) + timedelta(days=3)
    record_usage(owner, bytes=6 * GB, at=at, now=at)
    at = calendar.start(first.next()) + timedelta(days=3)
    record_usage(member, bytes=500 * MB, at=at, now=at)
    record_usage(owner, bytes=2 * GB, at=now, now=now)
    record_usage(member, bytes=GB, at=now, now=now)
    close_periods(now=now)
    return Family(household, owner, member)
