"""The commands together, as an owner and cron use them:
import_household -> import_usage -> grant -> rollover -> pool_status --json."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from accounts.models import Household
from plans.models import Bucket, PeriodClose
from tests.factories import GB, MB
from tests.integration.commands.helpers import run, snapshot
from usage.models import UsageRecord
from usage.services import derive_ref

pytestmark = pytest.mark.django_db

FEB_10 = datetime(2026, 2, 10, 12, tzinfo=UTC)  # January is past its grace (02-02 23:00Z)
MAR_5 = datetime(2026, 3, 5, 12, tzinfo=UTC)  # February is past its grace (03-02 23:00Z)

HOUSEHOLD = {
    "household": {
        "slug": "dupont",
        "name": "Famille Dupont",
        "time_zone": "Europe/Paris",
        "cycle_day": 1,
        "start_period": "2026-01",
    },
    "plan": {
        "name": "Famille 10 Go",
        "monthly_allowance_bytes": 10 * GB,
        "roaming_allowance_bytes": 1 * GB,
        "rollover": True,
        "rollover_months": 1,
        "rollover_cap_bytes": None,
        "consumption_order": "rollover_first",
    },
    "members": [
        {"username": "marie", "display_name": "Marie", "role": "owner"},
        {
            "username": "paul",
            "display_name": "Paul",
            "monthly_cap_bytes": 2 * GB,
            "cap_action": "block",
        },
    ],
}

# Listed out of time order on purpose: rows are allocated in time order (SPEC §3).
USAGE = """\
household,username,started_at,bytes,zone,ref
dupont,paul,2026-02-05T09:00:00+01:00,1500000000,domestic,feb-1
dupont,marie,2026-02-06T09:00:00+01:00,6000000000,domestic,feb-2
dupont,marie,2026-01-10T10:00:00+01:00,4000000000,domestic,jan-1
dupont,paul,2026-01-20T10:00:00+01:00,3000000000,domestic,jan-2
dupont,marie,2026-01-25T10:00:00+01:00,500000000,roaming,
"""


def test_a_household_from_its_file_to_its_status(clock, tmp_path):
    household_file = tmp_path / "dupont.json"
    household_file.write_text(json.dumps(HOUSEHOLD))
    usage_file = tmp_path / "usage.csv"
    usage_file.write_text(USAGE)

    # 1. The household, its plan (terms from 2026-01: no activity yet) and members.
    clock.set(FEB_10)
    run("import_household", str(household_file))
    household = Household.objects.get(slug="dupont")
    assert sorted(household.members.values_list("user__username", "role")) == [
        ("marie", "owner"),
        ("paul", "member"),
    ]

    # 2. The carrier's export.
    # January: marie 4 GB and paul 3 GB domestic; paul's 2 GB blocking cap leaves 1 GB
    #   overage; 10 - 4 - 2 = 4 GB of the allowance left. marie 0.5 GB roaming (of 1).
    # February's rows first close January (R4.6): 4 GB rolled (valid in February),
    #   0.5 GB roaming expired. Then paul 1.5 GB (within his cap) from the rollover,
    #   2.5 GB left; marie 6 GB: the rollover's 2.5 GB, then 3.5 GB of the allowance.
    out, _ = run("import_usage", str(usage_file))
    derived_ref = derive_ref(
        username="marie",
        started_at=datetime(2026, 1, 25, 9, tzinfo=UTC),
        bytes=500 * MB,
        zone="roaming",
    )
    assert out.splitlines() == [
        "Imported 5 record(s); skipped 0 already recorded.",
        "  dupont: 15.0 GB (15000000000 bytes), overage 1.00 GB (1000000000 bytes)",
    ]
    in_time_order = UsageRecord.objects.order_by("started_at")
    assert list(in_time_order.values_list("ref", "covered_bytes", "overage_bytes")) == [
        ("jan-1", 4 * GB, 0),
        ("jan-2", 2 * GB, 1 * GB),
        (derived_ref, 500 * MB, 0),
        ("feb-1", 1500 * MB, 0),
        ("feb-2", 6 * GB, 0),
    ]
    assert list(PeriodClose.objects.values_list("period", "rolled_bytes", "expired_bytes")) == [
        ("2026-01", 4 * GB, 500 * MB)
    ]

    # 3. A 2 GB pack this morning (08:00 in Paris), valid until February ends.
    out, _ = run(
        "grant", "dupont", "--kind=addon", "--zone=domestic", "--bytes=2GB",
        "--at=2026-02-10T08:00", "--note=Pack 2 Go",
    )  # fmt: skip
    addon = Bucket.objects.get(kind="addon")
    assert out == (
        f"Granted add-on bucket #{addon.pk} to dupont: 2.00 GB (2000000000 bytes) domestic, "
        "valid from 2026-02-10T08:00:00+01:00 until 2026-03-01T00:00:00+01:00.\n"
    )

    # 4. Cron in March closes February: 10 - 3.5 = 6.5 GB unused, all rolled (no cap);
    #    expired: the untouched 2 GB pack and February's 1 GB roaming = 3 GB. (January's
    #    rollover is empty.) It opens March.
    clock.set(MAR_5)
    out, err = run("rollover")
    assert out.splitlines() == [
        "dupont: closed 2026-02 rolled 6.50 GB (6500000000 bytes), "
        "expired 3.00 GB (3000000000 bytes)",
        "1 household(s) closed (1 period(s)), rolled 6.50 GB (6500000000 bytes), "
        "expired 3.00 GB (3000000000 bytes), 0 failed.",
    ]
    assert err == ""

    # 5. March's status: 6.5 GB rolled + 10 GB allowance domestic, 1 GB roaming.
    out, _ = run("pool_status", "dupont", "--json")
    assert json.loads(out) == {
        "household": "dupont",
        "period": "2026-03",
        "remaining_bytes": {"domestic": 16500 * MB, "roaming": 1 * GB},
        "rollover_remaining_bytes": 6500 * MB,
        "buckets": [
            {
                "kind": "rollover",
                "zone": "domestic",
                "granted_bytes": 6500 * MB,
                "remaining_bytes": 6500 * MB,
                "valid_from": "2026-03-01T00:00:00+01:00",
                "expires_at": "2026-04-01T00:00:00+02:00",  # summer time from 03-29
            },
            {
                "kind": "allowance",
                "zone": "domestic",
                "granted_bytes": 10 * GB,
                "remaining_bytes": 10 * GB,
                "valid_from": "2026-03-01T00:00:00+01:00",
                "expires_at": "2026-04-01T00:00:00+02:00",
            },
            {
                "kind": "allowance",
                "zone": "roaming",
                "granted_bytes": 1 * GB,
                "remaining_bytes": 1 * GB,
                "valid_from": "2026-03-01T00:00:00+01:00",
                "expires_at": "2026-04-01T00:00:00+02:00",
            },
        ],
        "members": [
            {
                "username": "marie",
                "used_bytes": 0,
                "covered_bytes": 0,
                "overage_bytes": 0,
                "cap_bytes": None,
                "cap_action": "notify",
                "roaming_from_domestic_bytes": 0,
            },
            {
                "username": "paul",
                "used_bytes": 0,
                "covered_bytes": 0,
                "overage_bytes": 0,
                "cap_bytes": 2 * GB,
                "cap_action": "block",
                "roaming_from_domestic_bytes": 0,
            },
        ],
        "awaiting_close": [],
        "history": [
            # February: 1.5 + 6 GB used, all covered.
            {
                "period": "2026-02",
                "used_bytes": 7500 * MB,
                "covered_bytes": 7500 * MB,
                "overage_bytes": 0,
                "rolled_bytes": 6500 * MB,
                "expired_bytes": 3 * GB,
            },
            # January: 4 + 3 + 0.5 GB used, paul's 1 GB beyond his cap uncovered.
            {
                "period": "2026-01",
                "used_bytes": 7500 * MB,
                "covered_bytes": 6500 * MB,
                "overage_bytes": 1 * GB,
                "rolled_bytes": 4 * GB,
                "expired_bytes": 500 * MB,
            },
        ],
        # The file says nothing of R7-R12: their defaults.
        "terms": {
            "consumption_order": ["rollover", "allowance", "bonus", "addon"],
            "roaming_mode": "separate",
            "roaming_fair_use_bytes": None,
            "rollover_bank_cap_bytes": None,
            "rollover_on_plan_change": "keep",
            "when_pool_is_empty": "overage",
        },
    }
    assert run("check_ledger") == ("Ledger clean: every invariant holds.\n", "")

    # 6. Replaying everything changes nothing.
    before = snapshot()
    out, _ = run("import_household", str(household_file))
    assert out == "dupont: nothing to change, the household is as the file says.\n"
    out, _ = run("import_usage", str(usage_file))
    assert out == "Imported 0 record(s); skipped 5 already recorded.\n"
    out, _ = run("rollover")
    assert out == "Nothing to close: every ended period is closed or in its grace.\n"
    assert snapshot() == before
