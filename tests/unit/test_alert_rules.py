"""When each kind of alert fires (usage/alerts/rules.py): pure functions, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from core.periods import Period
from usage.alerts import rules

GB = 10**9
NOW = datetime(2026, 1, 20, 11, tzinfo=UTC)


def p(key: str) -> Period:
    return Period.parse(key)


# --- the periods that may alert -----------------------------------------------------


def test_the_current_period_and_the_one_before_alert_once_each_in_order():
    periods = [p("2026-01"), p("2025-12"), p("2026-01")]
    chosen = rules.alerting_periods(periods, opened=p("2026-01"), current=p("2026-01"))
    assert chosen == [p("2025-12"), p("2026-01")]


def test_a_period_long_over_is_history_not_news():
    periods = [p("2025-10"), p("2025-11"), p("2025-12")]
    chosen = rules.alerting_periods(periods, opened=p("2026-01"), current=p("2026-01"))
    assert chosen == [p("2025-12")]


def test_a_period_not_opened_yet_does_not_alert():
    assert rules.alerting_periods([p("2026-02")], opened=p("2026-01"), current=p("2026-02")) == []
    assert rules.alerting_periods([p("2026-01")], opened=None, current=p("2026-01")) == []


# --- pools ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "percent", "fires"),
    [(2 * GB, 20, True), (2 * GB + 1, 20, False), (0, 20, True), (1, 0, False), (0, 0, True)],
)
def test_pool_low_at_the_percentage_or_less(left, percent, fires):
    assert rules.pool_low(granted=10 * GB, left=left, percent=percent) is fires


def test_unlimited_data_and_a_pool_of_nothing_are_never_low():
    assert not rules.pool_low(granted=None, left=None, percent=99)
    assert not rules.pool_low(granted=0, left=0, percent=99)


def test_pool_empty_when_nothing_is_left():
    assert rules.pool_empty(granted=10 * GB, left=0, used=False)
    assert not rules.pool_empty(granted=10 * GB, left=1, used=True)
    assert not rules.pool_empty(granted=None, left=None, used=True)


def test_a_pool_of_nothing_is_empty_only_once_somebody_used_it():
    assert not rules.pool_empty(granted=0, left=0, used=False)
    assert rules.pool_empty(granted=0, left=0, used=True)


def test_roaming_alerts_only_once_somebody_roamed():
    assert not rules.roaming_low(granted=GB, left=0, percent=20, used=False)
    assert not rules.roaming_empty(granted=GB, left=0, used=False)
    assert rules.roaming_low(granted=GB, left=GB // 5, percent=20, used=True)
    assert not rules.roaming_low(granted=GB, left=GB // 5 + 1, percent=20, used=True)
    assert rules.roaming_empty(granted=GB, left=0, used=True)
    assert rules.roaming_empty(granted=0, left=0, used=True)
    assert not rules.roaming_empty(granted=GB, left=1, used=True)


def test_unlimited_roaming_never_alerts():
    assert not rules.roaming_low(granted=None, left=None, percent=99, used=True)
    assert not rules.roaming_empty(granted=None, left=None, used=True)


# --- caps -----------------------------------------------------------------------------


CAP_CASES = [
    (None, False, False),
    (0, False, False),
    (4 * GB - 1, False, False),
    (4 * GB, True, False),
    (5 * GB - 1, True, False),
    (5 * GB, True, True),
    (6 * GB, True, True),
]


@pytest.mark.parametrize(("covered", "near", "reached"), CAP_CASES)
def test_a_5_gb_cap_is_near_at_80_percent_and_reached_at_5_gb(covered, near, reached):
    assert rules.cap_near(covered=covered, cap=5 * GB, percent=80) is near
    assert rules.cap_reached(covered=covered, cap=5 * GB) is reached


def test_no_cap_never_alerts():
    assert not rules.cap_near(covered=100 * GB, cap=None, percent=80)
    assert not rules.cap_reached(covered=100 * GB, cap=None)


def test_a_cap_of_0_is_reached_by_any_usage_even_all_overage():
    assert rules.cap_near(covered=0, cap=0, percent=80)
    assert rules.cap_reached(covered=0, cap=0)
    assert not rules.cap_reached(covered=None, cap=0)


# --- rolled-over data expiring ----------------------------------------------------


def test_rolled_over_data_warns_within_the_days_before_it_expires():
    expires = NOW + timedelta(days=7)
    assert rules.rollover_expiring(left=1, expires_at=expires, now=NOW, days=7)
    assert not rules.rollover_expiring(
        left=1, expires_at=expires + timedelta(seconds=1), now=NOW, days=7
    )
    assert not rules.rollover_expiring(left=0, expires_at=expires, now=NOW, days=7)
    assert not rules.rollover_expiring(left=1, expires_at=NOW, now=NOW, days=7)


def test_each_warning_once_fewest_days_first():
    def warnings(expires_at, warn_days=(7, 1)):
        return rules.rollover_warnings(left=GB, expires_at=expires_at, now=NOW, warn_days=warn_days)

    assert warnings(NOW + timedelta(days=8)) == []
    assert warnings(NOW + timedelta(days=3)) == [7]
    assert warnings(NOW + timedelta(hours=2)) == [1, 7]
    assert warnings(NOW + timedelta(hours=2), warn_days=(1, 1)) == [1]
    assert warnings(NOW - timedelta(hours=2)) == []


def test_a_warning_belongs_to_the_period_of_the_buckets_last_instant():
    end = datetime(2026, 2, 1, tzinfo=UTC)
    assert rules.last_instant(end) == datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)


# --- period closed ----------------------------------------------------------------


def test_the_newest_close_is_announced_once():
    assert rules.period_closed(newest="2026-01", announced=False)
    assert not rules.period_closed(newest="2026-01", announced=True)
    assert not rules.period_closed(newest=None, announced=False)


def test_the_rules_module_imports_no_django():
    source = rules.__file__
    with open(source) as text:
        imports = [line for line in text if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "django" in line or " usage." in line]
