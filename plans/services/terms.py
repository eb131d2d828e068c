"""Plans and the terms in force per period (SPEC §1 "Plan", "Terms in force")."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Household
from core.errors import Refused, clean_or_refuse
from core.periods import Period
from plans import selectors
from plans.models import Plan, Terms
from plans.services.locks import lock_household


def load_terms(households: list[Household] | list[int]) -> dict[int, list[Terms]]:
    """Every household's terms rows, oldest first, in one query."""
    terms = defaultdict(list)
    for row in Terms.objects.filter(household__in=households).order_by("household_id", "period"):
        terms[row.household_id].append(row)
    return terms


def terms_in_force(terms: dict[int, list[Terms]], household: Household, period: Period) -> Terms:
    """The terms of ``household`` for ``period`` among those ``load_terms`` gave, or
    ``Refused`` if it had no plan then."""
    found = selectors.terms_in_force(terms.get(household.pk, []), period)
    if found is None:
        raise Refused("plan", "the household has no plan for this period", period.key)
    return found


def create_plan(household: Household, *, name: str, **terms) -> Plan:
    plan = Plan(household=household, name=name, **terms)
    clean_or_refuse(plan, exclude=["household"])
    plan.save()
    return plan


def has_activity(household: Household) -> bool:
    """Anything opened or closed: periods already accounted for."""
    return bool(household.opened_through) or household.closes.exists()


def first_changeable_period(household: Household, now: datetime) -> Period:
    """The next period, and never one already opened; the start period while the
    household has no activity."""
    if not has_activity(household):
        return household.first_period
    candidate = household.period_of(now).next()
    if household.opened_through:
        candidate = max(candidate, Period.parse(household.opened_through).next())
    return max(candidate, household.first_period)


def set_plan(household: Household, plan: Plan, *, now: datetime | None = None) -> Terms:
    """Put ``plan``'s terms in force for ``household`` from the first period that may
    still change (see ``first_changeable_period``)."""
    if plan.household_id != household.pk:
        raise Refused("plan", "belongs to another household", plan)
    now = now or timezone.now()
    with transaction.atomic():
        household = lock_household(household)
        period = first_changeable_period(household, now)
        terms, _ = Terms.objects.update_or_create(
            household=household,
            period=period.key,
            defaults={"plan": plan, **plan.term_values()},
        )
    return terms


def update_plan(plan: Plan, *, now: datetime | None = None, **changes) -> Plan:
    """Edit a plan; the household using it gets the new terms from its next period."""
    for name, value in changes.items():
        if name not in (*Plan.TERM_FIELDS, "name", "monthly_price"):
            raise Refused(name, "is not a plan field", value)
        setattr(plan, name, value)
    clean_or_refuse(plan, exclude=["household"])
    with transaction.atomic():
        plan.save()
        current = selectors.latest_terms(plan.household)
        changed = current is not None and current.term_values() != plan.term_values()
        if changed and current.plan_id == plan.pk:
            set_plan(plan.household, plan, now=now)
    return plan
