"""The History page and "My usage" read what they show, not the whole dashboard."""

import pytest

from tests.factories import GB, MB
from usage.selectors import closed_periods, my_usage, snapshot

pytestmark = pytest.mark.django_db


def test_closed_periods_are_the_snapshots_history(family):
    assert closed_periods(family.household) == snapshot(family.household).history
    assert [p.period for p in closed_periods(family.household, limit=1)] == ["2026-02"]


def test_my_usage_is_the_members_records_this_period_newest_first(family):
    usage = my_usage(family.member)

    assert usage.period.key == "2026-03"
    assert [r.bytes for r in usage.page] == [500 * MB, 1500 * MB]
    assert [r.bytes for r in my_usage(family.owner).page] == [2 * GB]
    assert my_usage(family.member, page="nonsense").page.number == 1


@pytest.mark.parametrize("url", ["/history/", "/usage/"])
def test_history_and_my_usage_never_build_the_dashboard(client, family, monkeypatch, url):
    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard's snapshot")

    monkeypatch.setattr("web.views.snapshot", refuse)
    client.force_login(family.member.user)

    assert client.get(url).status_code == 200
