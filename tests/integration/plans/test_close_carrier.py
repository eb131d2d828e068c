"""The close under the carrier rules, through the services: the bank cap (SPEC R8),
rollover lost on a plan change (R9), packs that roll over (R11), the pending rollover
of pages (R4.7) and what ``check_ledger`` says of them (R6)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from core.errors import Refused
from plans.models import Bucket, LedgerEntry, PeriodClose
from plans.services import close_periods, create_plan, grant, set_plan
from tests.factories import GB, MemberFactory, household_with_plan
from usage.ledger import find_violations
from usage.selectors import snapshot
from usage.services import record_usage

pytestmark = pytest.mark.django_db

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)  # 2026-02-01 00:00 +01:00
FEB_10 = datetime(2026, 2, 10, 12, tzinfo=UTC)
MAR_10 = datetime(2026, 3, 10, 12, tzinfo=UTC)
APR_10 = datetime(2026, 4, 10, 12, tzinfo=UTC)


def closes(household):
    return [
        (c.period, c.unused_bytes, c.rolled_bytes, c.expired_bytes, c.banked_bytes, c.forfeited)
        for c in PeriodClose.objects.filter(household=household).order_by("period")
    ]


def use(member, amount, at):
    record_usage(member, bytes=amount, at=at, now=at)


def test_r8_the_worked_example_rolls_8_9_then_3():
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=12,
        consumption_order="rollover_last",
        rollover_bank_cap_bytes=20 * GB,
    )
    member = MemberFactory(household=household)
    for at, used in [(JAN_10, 2 * GB), (FEB_10, 1 * GB), (MAR_10, 3 * GB)]:
        use(member, used, at)
    close_periods(now=APR_10)
    assert closes(household) == [
        ("2026-01", 8 * GB, 8 * GB, 0, 0, False),
        ("2026-02", 9 * GB, 9 * GB, 0, 8 * GB, False),
        ("2026-03", 7 * GB, 3 * GB, 4 * GB, 17 * GB, False),
    ]
    assert find_violations() == []


def test_r8_banked_counts_what_next_period_records_drew_before_the_close():
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=3,
        rollover_bank_cap_bytes=12 * GB,
    )
    member = MemberFactory(household=household)
    use(member, 4 * GB, JAN_10)
    close_periods(now=FEB_10)  # January rolls 6 GB
    use(member, 5 * GB, FEB_10)  # rollover_first: 5 GB from the bank
    use(member, 1 * GB, datetime(2026, 3, 1, 9, tzinfo=UTC))  # in March, before the close
    close_periods(now=datetime(2026, 3, 3, tzinfo=UTC))
    # The bank held 1 GB at February's end (0 left now + 1 GB drawn in March): room 11 GB.
    assert closes(household)[1] == ("2026-02", 10 * GB, 10 * GB, 0, 1 * GB, False)
    assert find_violations() == []


def forfeit_household(rule, new_allowance):
    """12 GB banked by February's end, then a change of plan for March."""
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=6,
        rollover_on_plan_change=rule,
    )
    member = MemberFactory(household=household)
    use(member, 4 * GB, JAN_10)
    use(member, 4 * GB, FEB_10)  # rollover_first: 4 GB from January's 6 GB
    close_periods(now=FEB_10)
    other = create_plan(
        household,
        name="Other",
        monthly_allowance_bytes=new_allowance,
        rollover=True,
        rollover_months=6,
        rollover_on_plan_change=rule,
    )
    set_plan(household, other, now=FEB_10)  # in force from March
    return household, member


def test_r9_a_forfeit_close_rolls_nothing_and_expires_the_bank_and_the_unused():
    household, _ = forfeit_household("forfeit", 20 * GB)
    # February: 10 GB allowance untouched, January's rollover has 2 GB left; add 10 GB.
    grant(
        household,
        kind="addon",
        zone="domestic",
        bytes=10 * GB,
        at=FEB_10,
        now=FEB_10,
        expires_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    bank_before = sum(
        b.left_bytes for b in Bucket.objects.filter(household=household, kind="rollover")
    )
    assert bank_before == 2 * GB
    close_periods(now=MAR_10)
    [_, feb] = closes(household)
    assert feb == ("2026-02", 10 * GB, 0, 10 * GB + 2 * GB, 2 * GB, True)
    jan_rollover = Bucket.objects.get(household=household, kind="rollover", period="2026-01")
    assert (jan_rollover.forfeited, jan_rollover.left_bytes) == (True, 0)
    assert not Bucket.objects.filter(household=household, kind="rollover", period="2026-02")
    assert find_violations() == []


def test_r9_a_forfeit_close_with_12_gb_banked():
    """12 GB banked at March's end, a change of plan from April: the close of March rolls
    nothing and expires the 12 GB banked plus March's 9 GB unused."""
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=6,
        consumption_order="rollover_last",
        rollover_on_plan_change="forfeit",
    )
    member = MemberFactory(household=household)
    use(member, 4 * GB, JAN_10)
    use(member, 4 * GB, FEB_10)  # closes January lazily: 6 GB banked
    march = datetime(2026, 3, 5, tzinfo=UTC)
    use(member, 1 * GB, march)  # closes February lazily: 6 GB more
    other = create_plan(
        household,
        name="Other",
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=6,
        rollover_on_plan_change="forfeit",
    )
    set_plan(household, other, now=march)  # in force from April
    close_periods(now=APR_10)
    assert closes(household)[-1] == ("2026-03", 9 * GB, 0, 12 * GB + 9 * GB, 12 * GB, True)
    bank = Bucket.objects.filter(household=household, kind="rollover")
    assert [(b.forfeited, b.left_bytes, b.expired_bytes) for b in bank.order_by("period")] == [
        (True, 0, 6 * GB),
        (True, 0, 6 * GB),
    ]
    assert find_violations() == []


@pytest.mark.parametrize(
    ("rule", "allowance", "lost"),
    [
        ("forfeit_on_downgrade", 5 * GB, True),
        ("forfeit_on_downgrade", 20 * GB, False),
        ("forfeit_on_downgrade", None, False),
        ("keep", 5 * GB, False),
    ],
)
def test_r9_forfeit_on_downgrade_fires_only_on_a_smaller_allowance(rule, allowance, lost):
    household, _ = forfeit_household(rule, allowance)
    close_periods(now=MAR_10)
    feb = PeriodClose.objects.get(household=household, period="2026-02")
    assert feb.forfeited is lost
    assert feb.rolled_bytes == (0 if lost else 10 * GB)
    assert find_violations() == []


def test_r11_a_half_used_pack_rolls_with_the_allowance_under_both_caps():
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=2,
        consumption_order="addon,allowance,bonus,rollover",
        rollover_cap_bytes=13 * GB,
        rollover_bank_cap_bytes=12 * GB,
    )
    member = MemberFactory(household=household)
    use(member, 3 * GB, datetime(2026, 1, 5, tzinfo=UTC))  # before the pack: allowance
    pack = grant(
        household,
        kind="addon",
        zone="domestic",
        bytes=10 * GB,
        at=JAN_10,
        rolls_over=True,
        now=JAN_10,
    )
    use(member, 5 * GB, JAN_10 + timedelta(hours=1))  # add-ons first: half the pack
    pending = snapshot(household, now=FEB_10 - timedelta(days=9)).awaiting
    assert [p.pending_rollover_bytes for p in pending] == [12 * GB]
    close_periods(now=FEB_10)
    assert closes(household)[0] == ("2026-01", 12 * GB, 12 * GB, 0, 0, False)
    pack.refresh_from_db()
    assert (pack.rolled_out_bytes, pack.expired_bytes, pack.left_bytes) == (5 * GB, 0, 0)
    rolls = LedgerEntry.objects.filter(household=household, kind="roll_out").order_by("pk")
    assert [(e.bucket.kind, e.bytes) for e in rolls] == [("allowance", 7 * GB), ("addon", 5 * GB)]
    rollover = Bucket.objects.get(household=household, kind="rollover")
    assert rollover.granted_bytes == 12 * GB
    assert find_violations() == []


def test_r11_nothing_rolls_without_rollover_packs_included():
    household = household_with_plan(monthly_allowance_bytes=10 * GB)
    pack = grant(
        household, kind="bonus", zone="domestic", bytes=GB, at=JAN_10, rolls_over=True, now=JAN_10
    )
    close_periods(now=FEB_10)
    assert closes(household)[0] == ("2026-01", 10 * GB, 0, 11 * GB, 0, False)
    pack.refresh_from_db()
    assert pack.expired_bytes == GB


def test_r11_a_roaming_grant_that_rolls_over_is_refused_with_the_value():
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    with pytest.raises(Refused) as refused:
        grant(
            household,
            kind="addon",
            zone="roaming",
            bytes=GB,
            at=JAN_10,
            rolls_over=True,
            now=JAN_10,
        )
    assert str(refused.value) == "rolls_over: a roaming grant cannot roll over (roaming)"


def test_r11_the_grant_command_takes_rolls_over(capsys):
    household = household_with_plan(monthly_allowance_bytes=10 * GB, rollover=True)
    call_command(
        "grant",
        household.slug,
        "--kind",
        "addon",
        "--zone",
        "domestic",
        "--bytes",
        "1GB",
        "--rolls-over",
    )
    assert Bucket.objects.get(household=household, kind="addon").rolls_over is True


def test_r6_check_ledger_finds_a_close_beyond_the_bank_room():
    household = household_with_plan(
        monthly_allowance_bytes=10 * GB, rollover=True, rollover_bank_cap_bytes=20 * GB
    )
    close_periods(now=FEB_10)
    PeriodClose.objects.filter(household=household).update(banked_bytes=15 * GB)
    [violation] = find_violations()
    assert violation.what == "rolled <= the bank's room at the close"
    assert (violation.expected, violation.found) == (5 * GB, 10 * GB)
    PeriodClose.objects.filter(household=household).update(banked_bytes=0)
