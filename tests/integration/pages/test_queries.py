"""The pages' query count does not grow with the household."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plans.services import close_periods
from tests.factories import GB, MB, MemberFactory, household_with_plan
from tests.integration.pages.helpers import htmx, record_many

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12


def household_of(size: int, clock):
    """``size`` members, every one with usage in January (closed) and now; half of them
    with a cap, some without a password (the owner sees an invitation button)."""
    household = household_with_plan(
        monthly_allowance_bytes=100 * GB, roaming_allowance_bytes=5 * GB, rollover=True
    )
    members = []
    for n in range(size):
        member = MemberFactory(
            household=household,
            role="owner" if n == 0 else "member",
            monthly_cap_bytes=(n + 1) * GB if n % 2 else None,
            cap_action="block" if n % 4 == 1 else "notify",
        )
        if n % 3 == 2:
            member.user.set_unusable_password()
            member.user.save()
        members.append(member)

    def usage(day: datetime, bytes_each: int, zone: str) -> list:
        return [
            (m, (n + 1) * bytes_each, day + timedelta(hours=n), zone) for n, m in enumerate(members)
        ]

    january = datetime(2026, 1, 10, tzinfo=UTC)
    record_many(usage(january, 100 * MB, "domestic"), now=january + timedelta(days=1))
    march = datetime(2026, 3, 10, tzinfo=UTC)
    record_many(
        usage(march, 200 * MB, "domestic") + usage(march, 10 * MB, "roaming"), now=clock.now
    )
    close_periods(now=clock.now)
    return household, members[0]


def count_queries(client, url: str, *, hx: bool = False) -> int:
    client.get(url)  # the first reading may open the current period (R1)
    with CaptureQueriesContext(connection) as queries:
        response = htmx(client, "get", url) if hx else client.get(url)
    assert response.status_code == 200
    return len(queries)


PAGES = [("/", False), ("/", True), ("/history/", False), ("/usage/", False), ("/usage/", True)]


def test_query_count_is_the_same_for_1_and_20_members(client, clock):
    _, alone = household_of(1, clock)
    _, owner = household_of(20, clock)

    client.force_login(alone.user)
    small = [count_queries(client, url, hx=hx) for url, hx in PAGES]
    client.force_login(owner.user)
    large = [count_queries(client, url, hx=hx) for url, hx in PAGES]

    assert small == large
    assert max(large) <= MAX_QUERIES


def test_dashboard_shows_all_20_members(client, clock):
    _, owner = household_of(20, clock)
    client.force_login(owner.user)

    body = client.get("/").content.decode()

    assert body.count('data-testid="member-used-') == 20
    assert body.count("Send invitation") == 6  # members 2, 5, 8, 11, 14, 17


def test_dashboard_within_the_limit_on_its_first_reading_of_a_new_period(
    client, clock, django_assert_max_num_queries
):
    """The first reading of a period also opens it (R1): a few writes more, once."""
    _, owner = household_of(5, clock)
    client.force_login(owner.user)
    client.get("/")
    clock.set(datetime(2026, 4, 2, 8, tzinfo=UTC))
    client.force_login(owner.user)  # the session of March 15 has expired

    with django_assert_max_num_queries(MAX_QUERIES + 8):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get("/").status_code == 200
