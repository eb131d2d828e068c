"""The figures on the pages are the selectors' figures, to the byte."""

from datetime import UTC, datetime, timedelta

import pytest

from plans.models import PeriodClose
from plans.services import close_periods
from tests.factories import GB, MB, MemberFactory, household_with_plan
from tests.integration.pages.helpers import Page, htmx, record, record_many
from usage.selectors import pool_status, snapshot

pytestmark = pytest.mark.django_db


def dashboard(client, member) -> Page:
    client.force_login(member.user)
    response = client.get("/")
    assert response.status_code == 200
    return Page(response.content)


def test_dashboard_figures_are_pool_status_figures(client, family):
    page = dashboard(client, family.member)
    status = pool_status(family.household)

    assert page.bytes("pool-remaining-domestic") == status["remaining_bytes"]["domestic"]
    assert page.bytes("pool-remaining-roaming") == status["remaining_bytes"]["roaming"]
    assert page.bytes("rollover-remaining") == status["rollover_remaining_bytes"]
    for member in status["members"]:
        name = member["username"]
        assert page.bytes(f"member-used-{name}") == member["used_bytes"]
        if member["cap_bytes"] is not None:
            assert page.bytes(f"member-cap-{name}") == member["cap_bytes"]
        if member["overage_bytes"]:
            assert page.bytes(f"member-overage-{name}") == member["overage_bytes"]
        else:
            assert f"member-overage-{name}" not in page.testids()
    # And the same numbers written out (see the ``family`` fixture).
    assert page.bytes("pool-remaining-domestic") == 13_500_000_000
    assert page.text("pool-remaining-domestic") == "13.5\xa0GB"
    assert page.bytes("pool-remaining-roaming") == 1_500_000_000
    assert page.text("pool-remaining-roaming") == "1.50\xa0GB"
    assert page.bytes("pool-used") == 7_500_000_000
    assert page.bytes("pool-overage") == 500_000_000
    assert page.bytes("rollover-remaining") == 9 * GB
    assert page.bytes("member-used-marie") == 2 * GB
    assert page.bytes("member-used-paul") == 2 * GB
    assert page.bytes("member-used-lea") == 3500 * MB
    assert page.bytes("member-cap-lea") == 3 * GB
    assert page.one("member-cap-lea")["data-action"] == "block"
    assert page.bytes("member-overage-lea") == 500 * MB
    assert "member-cap-marie" not in page.testids()


def test_rollover_buckets_and_packs_with_their_expiry(client, family):
    page = dashboard(client, family.member)

    buckets = page.all("rollover-bucket")
    # Soonest expiry first: January's 3 GB (until March 31), February's 6 GB (April 30).
    assert [(b["data-bytes"], b["data-expires"]) for b in buckets] == [
        ("3000000000", "2026-04-01T00:00:00+02:00"),
        ("6000000000", "2026-05-01T00:00:00+02:00"),
    ]
    assert "usable until March 31, 2026: expires in 17 days" in buckets[0]["text"]
    assert "usable until April 30, 2026: expires in 47 days" in buckets[1]["text"]
    [pack] = page.all("pack")
    assert (pack["data-kind"], pack["data-bytes"]) == ("addon", "1000000000")
    assert "Ski trip" in pack["text"]
    assert "usable until March 31, 2026" in pack["text"]


def test_period_figures_and_forecast(client, family):
    page = dashboard(client, family.member)
    snap = snapshot(family.household)

    # 2026-03-15 13:00 in Paris: 16 days and 11 hours left, shown as 17 days.
    assert page.one("days-left")["data-days"] == "17"
    assert page.one("data-as-of")["data-at"] == "2026-03-13T10:00:00+01:00"
    # 7 GB domestic used in the 14 days and 13 hours since March 1, 00:00 in Paris.
    assert snap.used_by_zone["domestic"] == 7 * GB
    assert page.bytes("forecast-daily-rate") == int(7 * GB / (14 + 13 / 24))
    # 13.5 GB over the 16.4 days left (Paris moves to summer time on March 29).
    assert page.bytes("forecast-per-day") == int(13_500_000_000 / (16 + 10 / 24))
    assert "lasts until the end of the period" in page.text("forecast-runs-out")


def test_forecast_says_when_the_pool_runs_out(client, clock):
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    member = MemberFactory(household=household)
    record(member, 8 * GB, datetime(2026, 3, 10, tzinfo=UTC))
    clock.set(datetime(2026, 3, 10, 23, tzinfo=UTC))  # March 11, 00:00 in Paris

    page = dashboard(client, member)

    # 8 GB in 10 days is 800 MB a day: the 2 GB left last 2.5 days.
    assert page.bytes("forecast-daily-rate") == 800 * MB
    assert page.one("forecast-runs-out")["data-at"] == "2026-03-13T12:00:00+01:00"
    assert "At this rate the pool runs out on March 13, 2026." in page.text("forecast-runs-out")


def test_unlimited_domestic_data_is_shown_as_unlimited(client, clock):
    household = household_with_plan(monthly_allowance_bytes=None, roaming_allowance_bytes=GB)
    member = MemberFactory(household=household)
    record(member, 40 * GB, datetime(2026, 3, 2, tzinfo=UTC))

    page = dashboard(client, member)

    domestic = page.one("pool-remaining-domestic")
    assert domestic["text"] == "Unlimited"
    assert domestic["data-unlimited"] == "true"
    assert domestic["data-bytes"] == ""
    assert pool_status(household)["remaining_bytes"]["domestic"] is None
    assert page.bytes("pool-remaining-roaming") == GB
    assert page.bytes("member-used-" + member.username) == 40 * GB
    assert "never runs out" in page.text("forecast-runs-out")
    assert "forecast-per-day" not in page.testids()


@pytest.fixture
def awaiting(clock):
    """Start 2026-02, 10 GB with rollover capped at 2 GB; 7 GB used in February; now is
    March 1, 11:00 in Paris, within February's 48 hours of grace."""
    household = household_with_plan(
        start_period="2026-02",
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_cap_bytes=2 * GB,
    )
    member = MemberFactory(household=household)
    record(member, 7 * GB, datetime(2026, 2, 20, tzinfo=UTC))
    clock.set(datetime(2026, 3, 1, 10, tzinfo=UTC))
    return member


def test_pending_rollover_is_shown_while_the_previous_period_awaits_its_close(client, awaiting):
    page = dashboard(client, awaiting)

    # 3 GB unused, capped at 2 GB.
    assert page.bytes("pending-rollover") == 2 * GB
    assert pool_status(awaiting.household)["awaiting_close"][0]["pending_rollover_bytes"] == 2 * GB
    assert page.text("pending-rollover") == (
        "Pending: 2.00\xa0GB from 2026-02 rolls over when that period closes, "
        "on March 3, 2026, midnight."
    )
    assert page.bytes("rollover-remaining") == 0
    assert "rollover-bucket" not in page.testids()


def test_reading_pages_never_closes_a_period(client, awaiting, clock):
    dashboard(client, awaiting)
    clock.set(datetime(2026, 3, 6, 10, tzinfo=UTC))  # February's grace has passed

    client.force_login(awaiting.user)
    for url in ("/", "/usage/", "/history/"):
        assert client.get(url).status_code == 200
        assert htmx(client, "get", url).status_code == 200
        assert PeriodClose.objects.count() == 0

    page = Page(client.get("/").content)
    assert page.bytes("pending-rollover") == 2 * GB

    close_periods(now=clock.now)  # what cron, or the next record, does
    page = Page(client.get("/").content)
    assert "pending-rollover" not in page.testids()
    assert page.bytes("rollover-remaining") == 2 * GB
    assert [b["data-bytes"] for b in page.all("rollover-bucket")] == ["2000000000"]


def test_history_rows_are_the_period_closes(client, family):
    client.force_login(family.member.user)
    page = Page(client.get("/history/").content)

    rows = [e for e in page.elements if e["data-testid"].startswith("history-20")]
    assert [r["data-testid"] for r in rows] == ["history-2026-02", "history-2026-01"]
    body = client.get("/history/").content.decode()
    for close in PeriodClose.objects.filter(household=family.household):
        _, rolled, expired, _ = cells_of(body, close.period)
        assert (rolled, expired) == (close.rolled_bytes, close.expired_bytes)
    # January: 7 GB used, 3 GB rolled, 2 GB roaming expired; February: 4, 6 and 2.
    assert page.text("history-2026-01") == "2026-01 7.00\xa0GB 3.00\xa0GB 2.00\xa0GB 0\xa0B"
    assert cells_of(body, "2026-01") == [7 * GB, 3 * GB, 2 * GB, 0]
    assert cells_of(body, "2026-02") == [4 * GB, 6 * GB, 2 * GB, 0]


def cells_of(body: str, period: str) -> list[int]:
    row = body[body.index(f'data-testid="history-{period}"') :]
    row = row[: row.index("</tr>")]
    marked = row.replace("<td data-bytes", '<td data-testid="cell" data-bytes')
    return [int(c["data-bytes"]) for c in Page(marked).all("cell")]


def test_history_chart_has_the_same_figures_oldest_first(client, family):
    client.force_login(family.member.user)
    body = client.get("/history/").content.decode()
    chart = body[body.index('data-testid="history-chart"') : body.index("</svg>")]

    groups = chart.split('<g data-period="')[1:]
    assert [g[:7] for g in groups] == ["2026-01", "2026-02"]
    for group, period in zip(groups, ["2026-01", "2026-02"], strict=True):
        bars = [int(part.split('"')[0]) for part in group.split('data-bytes="')[1:]]
        assert bars == cells_of(body, period)


def test_history_shows_the_last_12_closed_periods(client, clock):
    household = household_with_plan(start_period="2025-01", monthly_allowance_bytes=GB)
    member = MemberFactory(household=household)
    close_periods(now=clock.now)  # 2025-01 to 2026-02: 14 periods
    client.force_login(member.user)

    page = Page(client.get("/history/").content)

    periods = [
        e["data-testid"][8:] for e in page.elements if e["data-testid"].startswith("history-20")
    ]
    assert periods == [f"2026-0{m}" for m in (2, 1)] + [f"2025-{m:02}" for m in range(12, 2, -1)]
    assert cells_of(client.get("/history/").content.decode(), "2025-03") == [0, 0, GB, 0]


def test_history_before_any_close_says_so(client, awaiting):
    client.force_login(awaiting.user)

    page = Page(client.get("/history/").content)

    assert "history-table" not in page.testids()
    assert "No period has closed yet." in client.get("/history/").content.decode()


def test_my_usage_pages_20_records_with_a_load_more_link(client, family, clock):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    # With the 2 GB of the fixture, 45 records this period.
    record_many(
        [(family.owner, (n + 1) * MB, start + timedelta(hours=n), "domestic") for n in range(44)],
        now=clock.now,
    )
    client.force_login(family.owner.user)

    first = Page(client.get("/usage/").content)
    second = Page(htmx(client, "get", "/usage/?page=2").content)
    body3 = htmx(client, "get", "/usage/?page=3").content.decode().strip()
    third = Page(body3)

    # Newest first: March 10 (2 GB), then the 44 hourly records from March 2, 19:00 back.
    rows = [r["data-bytes"] for p in (first, second, third) for r in p.all("record")]
    assert len(first.all("record")) == 20
    assert len(second.all("record")) == 20
    assert len(third.all("record")) == 5
    assert rows[0] == str(2 * GB)
    assert rows[1:] == [str(n * MB) for n in range(44, 0, -1)]
    assert first.one("load-more")["href"] == "?page=2"
    assert first.one("load-more")["hx-get"] == "?page=2"
    assert first.one("load-more")["hx-target"] == "#load-more"
    assert second.one("load-more")["href"] == "?page=3"
    assert "load-more" not in third.testids()
    assert body3.startswith('<tr data-testid="record"')


def test_my_usage_without_javascript_follows_the_link_to_a_full_page(client, family, clock):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    record_many(
        [(family.member, MB, start + timedelta(hours=n), "domestic") for n in range(25)],
        now=clock.now,
    )
    client.force_login(family.member.user)

    response = client.get("/usage/?page=2")

    assert response.content.decode().startswith("<!doctype html>")
    # Paul: 25 + 2 records, 7 on page 2.
    assert len(Page(response.content).all("record")) == 7
