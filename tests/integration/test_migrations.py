"""The carrier rules' migrations (SPEC R7–R12) keep every figure of a household that
existed before them: its defaults say R1–R6 exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from plans.models import Bucket, LedgerEntry, PeriodClose, Terms
from plans.services import close_periods, grant
from tests.factories import GB, MemberFactory, household_with_plan
from usage.models import UsageRecord
from usage.selectors import pool_status
from usage.services import record_usage

BEFORE = [("plans", "0002_ledger_close_index_where_set"), ("usage", "0002_composite_indexes_only")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in {"plans", "usage"}]


def rows() -> dict:
    """Every figure of the accounts, in the columns that existed before the migration."""
    return {
        "buckets": list(
            Bucket.objects.order_by("pk").values_list(
                "kind", "zone", "period", "granted_bytes", "allocated_bytes", "left_bytes"
            )
        ),
        "records": list(
            UsageRecord.objects.order_by("pk").values_list("ref", "covered_bytes", "overage_bytes")
        ),
        "closes": list(
            PeriodClose.objects.order_by("pk").values_list(
                "period", "rolled_bytes", "expired_bytes"
            )
        ),
        "ledger": LedgerEntry.objects.count(),
        "terms": list(Terms.objects.values_list("period", "consumption_order")),
    }


@pytest.mark.django_db(transaction=True)
def test_a_household_from_before_the_carrier_rules_keeps_every_figure():
    household = household_with_plan(
        slug="dupont",
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=GB,
        rollover=True,
        rollover_months=2,
        consumption_order="rollover_last",
    )
    marie = MemberFactory(household=household, monthly_cap_bytes=6 * GB, cap_action="block")
    january = datetime(2026, 1, 10, tzinfo=UTC)
    record_usage(marie, bytes=4 * GB, at=january, now=january)
    record_usage(marie, bytes=3 * GB, zone="roaming", at=january, now=january)
    grant(household, kind="addon", zone="domestic", bytes=2 * GB, at=january, now=january)
    february = datetime(2026, 2, 10, tzinfo=UTC)
    close_periods(now=february)
    record_usage(marie, bytes=9 * GB, at=february, now=february)
    status = pool_status(household)  # opens the current period first (R1)
    before = rows(), status

    migrate(BEFORE)
    try:
        migrate(latest())
    finally:
        migrate(latest())  # leave the database as the other tests expect it

    status = pool_status(household)
    assert (rows(), status) == before
    # The new columns read as R1–R6: no bank, no forfeit, nothing from the domestic pool.
    assert set(PeriodClose.objects.values_list("banked_bytes", "forfeited")) == {(0, False)}
    assert set(Bucket.objects.values_list("rolls_over", "forfeited")) == {(False, False)}
    assert set(UsageRecord.objects.values_list("from_domestic_bytes", "beyond_fair_use_bytes")) == {
        (0, 0)
    }
    assert set(
        Terms.objects.values_list(
            "rollover_bank_cap_bytes",
            "rollover_on_plan_change",
            "roaming_mode",
            "roaming_fair_use_bytes",
            "when_pool_is_empty",
        )
    ) == {(None, "keep", "separate", None, "overage")}
