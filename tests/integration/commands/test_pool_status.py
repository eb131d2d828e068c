"""``pool_status`` (SPEC §3): the dashboard's figures as text or JSON; closes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Member
from plans.models import Bucket, PeriodClose
from plans.services import grant
from tests.factories import GB, MB, MemberFactory, UserFactory, household_with_plan
from tests.integration.commands.helpers import refused, run, snapshot
from usage.services import record_usage

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")  # summer time until 2026-10-25, then +01:00
NOV_4 = datetime(2026, 11, 4, 12, tzinfo=UTC)  # October is past its grace, not closed
DEC_1 = datetime(2026, 12, 1, 12, tzinfo=UTC)  # November ended 12 hours ago

TOP_KEYS = {
    "household",
    "period",
    "remaining_bytes",
    "rollover_remaining_bytes",
    "buckets",
    "members",
    "awaiting_close",
    "history",
    "terms",
}
TERMS_KEYS = {
    "consumption_order",
    "roaming_mode",
    "roaming_fair_use_bytes",
    "rollover_bank_cap_bytes",
    "rollover_on_plan_change",
    "when_pool_is_empty",
}
BUCKET_KEYS = {"kind", "zone", "granted_bytes", "remaining_bytes", "valid_from", "expires_at"}
MEMBER_KEYS = {
    "username",
    "used_bytes",
    "covered_bytes",
    "overage_bytes",
    "cap_bytes",
    "cap_action",
    "roaming_from_domestic_bytes",
}
AWAITING_KEYS = {
    "period",
    "used_bytes",
    "covered_bytes",
    "overage_bytes",
    "pending_rollover_bytes",
    "closes_after",
}
HISTORY_KEYS = {
    "period",
    "used_bytes",
    "covered_bytes",
    "overage_bytes",
    "rolled_bytes",
    "expired_bytes",
}


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def record(member, bytes, at, *, zone="domestic", now=None):
    return record_usage(member, bytes=bytes, zone=zone, at=at, now=now or at)


@pytest.fixture
def dupont(clock):
    """10 GB a month, 1 GB roaming, rollover capped at 8 GB, kept 2 periods, from 2026-08.

    August: marie 4 GB, hugo 0.5 GB roaming. Closed (lazily, by September's usage):
      6 GB unused -> 6 GB rolled (R_aug, valid 2026-09 and 2026-10); 0.5 GB roaming expired.
    September: paul 3 GB, drawn from R_aug (3 GB left). Closed by October's usage:
      10 GB unused -> 8 GB rolled (the cap; R_sep, valid 2026-10 and 2026-11);
      expired: 2 GB of the allowance + 1 GB roaming = 3 GB.
    October: marie 2 GB from R_aug (soonest expiry; 1 GB left). Not closed: its
      allowance is untouched, so 8 GB (capped) will roll.
    November (before October's grace ended on 11-03 00:00): paul 3 GB from R_sep (5 GB
      left); a 2 GB add-on; lea 1.5 GB roaming against the 1 GB roaming allowance (her
      2 GB blocking cap allows it all): 0.5 GB overage; marie 4 GB from R_sep (1 GB left).
    Then lea (with November usage) and hugo (without) leave.
    """
    household = household_with_plan(
        slug="dupont",
        start_period="2026-08",
        monthly_allowance_bytes=10 * GB,
        roaming_allowance_bytes=1 * GB,
        rollover=True,
        rollover_months=2,
        rollover_cap_bytes=8 * GB,
    )

    def member(username, **fields):
        return MemberFactory(household=household, user=UserFactory(username=username), **fields)

    marie = member("marie", role="owner")
    paul = member("paul", monthly_cap_bytes=5 * GB)
    lea = member("lea", monthly_cap_bytes=2 * GB, cap_action="block")
    hugo = member("hugo")
    record(marie, 4 * GB, paris(2026, 8, 10, 12))
    record(hugo, 500 * MB, paris(2026, 8, 12, 12), zone="roaming")
    record(paul, 3 * GB, paris(2026, 9, 10, 12))
    record(marie, 2 * GB, paris(2026, 10, 15, 12))
    record(paul, 3 * GB, paris(2026, 11, 1, 10), now=paris(2026, 11, 1, 11))
    grant(
        household,
        kind="addon",
        zone="domestic",
        bytes=2 * GB,
        at=paris(2026, 11, 1, 12),
        now=paris(2026, 11, 1, 12),
    )
    record(lea, 1500 * MB, paris(2026, 11, 2, 9), zone="roaming", now=paris(2026, 11, 2, 10))
    record(marie, 4 * GB, paris(2026, 11, 2, 9, 30), now=paris(2026, 11, 2, 10))
    Member.objects.filter(pk__in=[lea.pk, hugo.pk]).update(active=False)
    assert list(PeriodClose.objects.values_list("period", flat=True).order_by("period")) == [
        "2026-08",
        "2026-09",
    ]
    clock.set(NOV_4)
    return household


HISTORY = [
    {
        "period": "2026-09",
        "used_bytes": 3 * GB,
        "covered_bytes": 3 * GB,
        "overage_bytes": 0,
        "rolled_bytes": 8 * GB,
        "expired_bytes": 3 * GB,
    },
    {
        "period": "2026-08",
        "used_bytes": 4500 * MB,
        "covered_bytes": 4500 * MB,
        "overage_bytes": 0,
        "rolled_bytes": 6 * GB,
        "expired_bytes": 500 * MB,
    },
]
OCTOBER = {
    "period": "2026-10",
    "used_bytes": 2 * GB,
    "covered_bytes": 2 * GB,
    "overage_bytes": 0,
    "pending_rollover_bytes": 8 * GB,
    "closes_after": "2026-11-03T00:00:00+01:00",  # November 1st, 00:00 Paris, + 48 h
}


def status_json(slug: str = "dupont") -> dict:
    out, err = run("pool_status", slug, "--json")
    assert err == ""
    return json.loads(out)


def assert_shape(status: dict) -> None:
    """Exactly SPEC §3's keys; bytes are integers (or null), datetimes ISO with offset."""
    assert set(status) == TOP_KEYS
    assert isinstance(status["household"], str)
    assert isinstance(status["period"], str)
    assert set(status["remaining_bytes"]) == {"domestic", "roaming"}
    assert set(status["terms"]) == TERMS_KEYS
    for rows, keys in (
        (status["buckets"], BUCKET_KEYS),
        (status["members"], MEMBER_KEYS),
        (status["awaiting_close"], AWAITING_KEYS),
        (status["history"], HISTORY_KEYS),
    ):
        assert isinstance(rows, list)
        for row in rows:
            assert set(row) == keys
    amounts = [*status["remaining_bytes"].values(), status["rollover_remaining_bytes"]]
    amounts += [status["terms"]["roaming_fair_use_bytes"]]
    amounts += [status["terms"]["rollover_bank_cap_bytes"]]
    for row in status["buckets"] + status["members"] + status["awaiting_close"]:
        amounts += [value for key, value in row.items() if key.endswith("_bytes")]
    for row in status["history"]:
        amounts += [value for key, value in row.items() if key.endswith("_bytes")]
    for value in amounts:
        assert value is None or (type(value) is int and value >= 0), value
    instants = [row[key] for row in status["buckets"] for key in ("valid_from", "expires_at")]
    instants += [row["closes_after"] for row in status["awaiting_close"]]
    for text in instants:
        assert datetime.fromisoformat(text).tzinfo is not None, text


def test_json_has_every_figure_of_the_current_period(dupont):
    status = status_json()

    assert_shape(status)
    assert status == {
        "household": "dupont",
        "period": "2026-11",
        # R_sep 1 GB + November's 10 GB + the 2 GB add-on; roaming all used.
        "remaining_bytes": {"domestic": 13 * GB, "roaming": 0},
        "rollover_remaining_bytes": 1 * GB,
        # Valid now, in allocation order: domestic (rollover first), then roaming.
        "buckets": [
            {
                "kind": "rollover",
                "zone": "domestic",
                "granted_bytes": 8 * GB,
                "remaining_bytes": 1 * GB,
                "valid_from": "2026-10-01T00:00:00+02:00",
                "expires_at": "2026-12-01T00:00:00+01:00",
            },
            {
                "kind": "allowance",
                "zone": "domestic",
                "granted_bytes": 10 * GB,
                "remaining_bytes": 10 * GB,
                "valid_from": "2026-11-01T00:00:00+01:00",
                "expires_at": "2026-12-01T00:00:00+01:00",
            },
            {
                "kind": "addon",
                "zone": "domestic",
                "granted_bytes": 2 * GB,
                "remaining_bytes": 2 * GB,
                "valid_from": "2026-11-01T12:00:00+01:00",
                "expires_at": "2026-12-01T00:00:00+01:00",
            },
            {
                "kind": "allowance",
                "zone": "roaming",
                "granted_bytes": 1 * GB,
                "remaining_bytes": 0,
                "valid_from": "2026-11-01T00:00:00+01:00",
                "expires_at": "2026-12-01T00:00:00+01:00",
            },
        ],
        # Active members, and lea (inactive) for her November usage; not hugo.
        "members": [
            {
                "username": "lea",
                "used_bytes": 1500 * MB,
                "covered_bytes": 1 * GB,
                "overage_bytes": 500 * MB,
                "cap_bytes": 2 * GB,
                "cap_action": "block",
                "roaming_from_domestic_bytes": 0,
            },
            {
                "username": "marie",
                "used_bytes": 4 * GB,
                "covered_bytes": 4 * GB,
                "overage_bytes": 0,
                "cap_bytes": None,
                "cap_action": "notify",
                "roaming_from_domestic_bytes": 0,
            },
            {
                "username": "paul",
                "used_bytes": 3 * GB,
                "covered_bytes": 3 * GB,
                "overage_bytes": 0,
                "cap_bytes": 5 * GB,
                "cap_action": "notify",
                "roaming_from_domestic_bytes": 0,
            },
        ],
        "awaiting_close": [OCTOBER],
        "history": HISTORY,  # newest first
        # The defaults of R7-R12: R1-R6 as they are.
        "terms": {
            "consumption_order": ["rollover", "allowance", "bonus", "addon"],
            "roaming_mode": "separate",
            "roaming_fair_use_bytes": None,
            "rollover_bank_cap_bytes": None,
            "rollover_on_plan_change": "keep",
            "when_pool_is_empty": "overage",
        },
    }


def test_it_closes_nothing_even_when_a_period_is_due(clock, dupont):
    # October is past its grace on 11-04, and still only August and September close.
    before = snapshot()
    status_json()
    run("pool_status", "dupont")
    assert snapshot() == before

    # Weeks later: November ended too. Both await their close, oldest first; reading
    # opens December (R1) and still closes nothing.
    clock.set(DEC_1)
    status = status_json()

    assert_shape(status)
    assert PeriodClose.objects.count() == 2
    assert status["period"] == "2026-12"
    assert status["awaiting_close"] == [
        OCTOBER,
        {
            # 3 + 1.5 + 4 GB used; November's allowance untouched: 8 GB (capped) to roll.
            "period": "2026-11",
            "used_bytes": 8500 * MB,
            "covered_bytes": 8 * GB,
            "overage_bytes": 500 * MB,
            "pending_rollover_bytes": 8 * GB,
            "closes_after": "2026-12-03T00:00:00+01:00",
        },
    ]
    assert status["history"] == HISTORY
    assert status["remaining_bytes"] == {"domestic": 10 * GB, "roaming": 1 * GB}
    assert status["rollover_remaining_bytes"] == 0
    assert [(b["kind"], b["zone"], b["valid_from"]) for b in status["buckets"]] == [
        ("allowance", "domestic", "2026-12-01T00:00:00+01:00"),
        ("allowance", "roaming", "2026-12-01T00:00:00+01:00"),
    ]
    assert [(m["username"], m["used_bytes"]) for m in status["members"]] == [
        ("marie", 0),
        ("paul", 0),
    ]
    assert Bucket.objects.filter(period="2026-12", kind="allowance").count() == 2


def test_text_form_is_readable(dupont):
    out, err = run("pool_status", "dupont")

    assert err == ""
    lines = out.splitlines()
    assert lines[:4] == [
        "dupont — period 2026-11",
        "  Domestic left: 13.0 GB",
        "  Roaming left:  0 B",
        "  Rolled over:   1.00 GB",
    ]
    assert "    lea              used 1.50 GB, overage 500 MB (cap 2.00 GB, block)" in lines
    assert "    paul             used 3.00 GB (cap 5.00 GB, notify)" in lines
    assert (
        "  2026-10 awaits its close (after 2026-11-03T00:00:00+01:00): used 2.00 GB, "
        "8.00 GB to roll over"
    ) in lines
    assert lines[-3:] == [
        "  History:",
        "    2026-09: used 3.00 GB, rolled 8.00 GB, expired 3.00 GB, overage 0 B",
        "    2026-08: used 4.50 GB, rolled 6.00 GB, expired 500 MB, overage 0 B",
    ]


def test_an_unlimited_allowance_is_null(clock):
    household = household_with_plan(slug="free", monthly_allowance_bytes=None)
    member = MemberFactory(household=household, user=UserFactory(username="ana"))
    record(member, 50 * GB, datetime(2026, 3, 2, 12, tzinfo=UTC))  # the clock: 2026-03-05

    status = status_json("free")

    assert_shape(status)
    assert status["remaining_bytes"] == {"domestic": None, "roaming": 0}
    assert [(b["kind"], b["granted_bytes"], b["remaining_bytes"]) for b in status["buckets"]] == [
        ("allowance", None, None)
    ]
    assert status["members"][0]["covered_bytes"] == 50 * GB
    out, _ = run("pool_status", "free")
    assert "  Domestic left: unlimited" in out.splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "household: no such household (nosuch)"),
        (["nosuch", "--json"], "household: no such household (nosuch)"),
        ([], "Error: the following arguments are required: slug"),
        (["dupont", "--yaml"], "Error: unrecognized arguments: --yaml"),
    ],
)
def test_an_unknown_household_or_option_is_refused(dupont, args, message):
    error, out, _ = refused("pool_status", *args)

    assert str(error) == message
    assert out == ""


def test_json_says_the_carrier_terms_and_each_members_roaming_from_domestic(clock):
    """R12: the current period's terms; per member the domestic bytes their roaming drew
    (no roaming allowance: ana's roaming comes out of the domestic pool, R10)."""
    household = household_with_plan(
        slug="eu",
        monthly_allowance_bytes=250 * GB,
        roaming_allowance_bytes=0,
        consumption_order="bonus,addon,allowance,rollover",
        rollover=True,
        rollover_bank_cap_bytes=20 * GB,
        rollover_on_plan_change="forfeit",
        roaming_mode="from_domestic",
        roaming_fair_use_bytes=35 * GB,
        when_pool_is_empty="slowed",
    )
    ana = MemberFactory(household=household, user=UserFactory(username="ana"))
    MemberFactory(household=household, user=UserFactory(username="bob"))
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)  # the clock: 2026-03-05
    record(ana, 3 * GB, at, zone="roaming")
    record(ana, 2 * GB, at.replace(hour=13), zone="roaming")

    status = status_json("eu")

    assert_shape(status)
    assert status["terms"] == {
        "consumption_order": ["bonus", "addon", "allowance", "rollover"],
        "roaming_mode": "from_domestic",
        "roaming_fair_use_bytes": 35 * GB,
        "rollover_bank_cap_bytes": 20 * GB,
        "rollover_on_plan_change": "forfeit",
        "when_pool_is_empty": "slowed",
    }
    assert [(m["username"], m["roaming_from_domestic_bytes"]) for m in status["members"]] == [
        ("ana", 5 * GB),
        ("bob", 0),
    ]
    out, _ = run("pool_status", "eu")
    assert (
        "  Terms: order bonus, addon, allowance, rollover; roaming from_domestic "
        "(fair use 35.0 GB); bank cap 20.0 GB; on plan change forfeit; when empty slowed"
    ) in out.splitlines()
