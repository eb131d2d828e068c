"""The close side of the carrier rules (SPEC R8 bank cap, R9 forfeit, R11 packs that
roll over): ``plans.rules.close_period`` on plain values, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from core.periods import Calendar, Period
from plans import rules

GB = 10**9
PARIS = Calendar("Europe/Paris", 1)
JAN = Period(2026, 1)


class Terms(NamedTuple):
    monthly_allowance_bytes: int | None = 10 * GB
    roaming_allowance_bytes: int = 0
    rollover: bool = True
    rollover_months: int = 12
    rollover_cap_bytes: int | None = None
    consumption_order: str = "rollover_last"
    rollover_bank_cap_bytes: int | None = None
    rollover_on_plan_change: str = "keep"
    roaming_mode: str = "separate"
    roaming_fair_use_bytes: int | None = None
    when_pool_is_empty: str = "overage"
    plan_id: int = 1


def close(period, terms, *, left, ending=(), bank=(), next_terms=None, allowance_pk=1):
    end = PARIS.end(period)
    allowance = rules.Leftover(allowance_pk, left, end, "allowance", PARIS.start(period))
    return rules.close_period(
        PARIS,
        period,
        terms,
        allowance=(allowance_pk, left),
        ending=[allowance, *ending] if left else list(ending),
        bank=bank,
        next_terms=next_terms,
    )


def test_r8_worked_example_rolls_8_9_then_3_and_4_gb_expire():
    """SPEC R8: 10 GB, rollover_last, bank cap 20 GB, 12-month rollover, usage that
    never reaches the bank: unused 8, 9, 7 GB roll 8, 9, then 3 (4 GB expire)."""
    terms = Terms(rollover_bank_cap_bytes=20 * GB)
    bank, rolled, expired, banked = [], [], [], []
    for index, unused in enumerate([8 * GB, 9 * GB, 7 * GB]):
        outcome = close(JAN.shift(index), terms, left=unused, bank=bank, allowance_pk=index + 1)
        rolled.append(outcome.rolled)
        expired.append(outcome.expired)
        banked.append(outcome.banked)
        bank.append(rules.Banked(100 + index, outcome.rolled))
    assert rolled == [8 * GB, 9 * GB, 3 * GB]
    assert expired == [0, 0, 4 * GB]
    assert banked == [0, 8 * GB, 17 * GB]


def test_r8_banked_counts_what_records_after_the_end_drew_and_caps_compose():
    terms = Terms(rollover_bank_cap_bytes=20 * GB, rollover_cap_bytes=5 * GB)
    # 14 GB held at P's end: 11 left now, 3 drawn by P+1's records before the close ran.
    outcome = close(JAN, terms, left=8 * GB, bank=[rules.Banked(9, 11 * GB, 3 * GB)])
    assert (outcome.banked, outcome.rolled, outcome.expired) == (14 * GB, 5 * GB, 3 * GB)
    full = close(JAN, terms, left=8 * GB, bank=[rules.Banked(9, 25 * GB)])
    assert (full.rolled, full.expired, full.rollover) == (0, 8 * GB, None)  # never trimmed
    assert rules.rollover_amount(Terms(rollover_bank_cap_bytes=0), 5 * GB) == 0


def test_r9_a_forfeit_close_rolls_nothing_and_expires_the_bank_and_the_unused():
    terms = Terms(rollover_on_plan_change="forfeit")
    bank = [rules.Banked(7, 12 * GB, 1 * GB), rules.Banked(8, 0, 2 * GB)]
    outcome = close(JAN, terms, left=6 * GB, bank=bank, next_terms=terms._replace(plan_id=2))
    assert (outcome.rolled, outcome.rollover, outcome.forfeit) == (0, None, True)
    assert outcome.expired == 12 * GB + 6 * GB
    assert outcome.forfeited == (7, 8)
    end = PARIS.end(JAN)
    assert rules.Expiry(7, 12 * GB, end) in outcome.expiries
    same = close(JAN, terms, left=6 * GB, bank=bank, next_terms=terms)
    assert (same.rolled, same.forfeit, same.forfeited) == (6 * GB, False, ())


def test_r9_forfeit_on_downgrade_fires_on_a_smaller_allowance_only():
    terms = Terms(rollover_on_plan_change="forfeit_on_downgrade")
    bank = [rules.Banked(7, 12 * GB)]
    for after, lost in [
        (terms._replace(monthly_allowance_bytes=5 * GB), True),
        (terms._replace(monthly_allowance_bytes=20 * GB), False),  # an upgrade
        (terms._replace(monthly_allowance_bytes=None), False),  # unlimited is the largest
        (terms._replace(rollover_cap_bytes=GB), False),  # another term changed
    ]:
        outcome = close(JAN, terms, left=6 * GB, bank=bank, next_terms=after)
        assert outcome.forfeit is lost
        assert outcome.rolled == (0 if lost else 6 * GB)


def test_r11_a_half_used_pack_rolls_with_the_allowance_under_both_caps():
    """A 10 GB pack with ``rolls_over`` half used rolls its 5 GB with the allowance, under
    a per-month cap of 12 GB and a bank cap of 20 GB with 10 GB banked."""
    terms = Terms(rollover_cap_bytes=12 * GB, rollover_bank_cap_bytes=20 * GB)
    end = PARIS.end(JAN)
    pack = rules.Leftover(5, 5 * GB, end, "addon", datetime(2026, 1, 3, tzinfo=UTC), True)
    outcome = close(JAN, terms, left=4 * GB, ending=[pack], bank=[rules.Banked(9, 10 * GB)])
    assert (outcome.unused, outcome.rolled, outcome.expired) == (9 * GB, 9 * GB, 0)
    assert outcome.roll_outs == (rules.Expiry(1, 4 * GB, end), rules.Expiry(5, 5 * GB, end))
    assert outcome.rollover.granted_bytes == 9 * GB
    # The bank has room for 10 GB, the month's cap for 12 GB: 7 GB of a 12 GB unused roll.
    small = terms._replace(rollover_cap_bytes=7 * GB)
    outcome = close(JAN, small, left=7 * GB, ending=[pack], bank=[rules.Banked(9, 10 * GB)])
    assert outcome.roll_outs == (rules.Expiry(1, 7 * GB, end),)  # the allowance first
    assert outcome.expiries == (rules.Expiry(5, 5 * GB, end),)


def test_r11_packs_roll_in_draw_order_and_not_without_rollover_or_when_unlimited():
    end = PARIS.end(JAN)
    later = rules.Leftover(6, 3 * GB, end, "addon", datetime(2026, 1, 9, tzinfo=UTC), True)
    bonus = rules.Leftover(5, 2 * GB, end, "bonus", datetime(2026, 1, 20, tzinfo=UTC), True)
    plain = rules.Leftover(4, 1 * GB, end, "addon", datetime(2026, 1, 2, tzinfo=UTC))
    terms = Terms(rollover_cap_bytes=3 * GB)
    outcome = close(JAN, terms, left=1 * GB, ending=[later, bonus, plain])
    assert outcome.unused == 6 * GB  # the plain add-on does not count
    assert [(o.pk, o.bytes) for o in outcome.roll_outs] == [(1, GB), (5, 2 * GB)]
    off = close(JAN, terms._replace(rollover=False), left=GB, ending=[later, bonus])
    assert (off.unused, off.rolled, off.expired) == (GB, 0, 6 * GB)
    unlimited = rules.close_period(
        PARIS, JAN, terms, allowance=(1, None), ending=[later, bonus], bank=()
    )
    assert (unlimited.unused, unlimited.rolled, unlimited.expired) == (None, 0, 5 * GB)


def test_r11_a_roaming_grant_cannot_roll_over():
    problem = rules.rolls_over_problem("roaming", True)
    assert (problem.field, problem.value) == ("rolls_over", "roaming")
    assert rules.rolls_over_problem("domestic", True) is None
    assert rules.rolls_over_problem("roaming", False) is None
