"""Checks shared by everything that writes to a household's accounts (SPEC R5)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import Household
from core.errors import Refused
from core.periods import Period
from core.problems import Problem
from plans import rules, selectors


def refuse(problem: Problem | None) -> None:
    """Raise a rule's problem, if it found one, as ``Refused``."""
    if problem is not None:
        raise Refused.of(problem)


def as_aware(household: Household, value: datetime, field_name: str) -> datetime:
    """An aware datetime; a time without an offset is read in the household's zone."""
    if not isinstance(value, datetime):
        raise Refused(field_name, "must be a date and time", value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=household.calendar.zone)
    refuse_out_of_range(field_name, value)
    return value


def refuse_out_of_range(field_name: str, value: datetime) -> None:
    refuse(rules.date_range_problem(field_name, value))


def require_plan(household: Household) -> None:
    if selectors.latest_terms(household) is None:
        raise Refused("plan", "the household has no plan yet", household.slug)


def refuse_before_start(household: Household, period: Period, field_name: str, at: datetime):
    refuse(rules.before_start_problem(period, household.first_period, field_name, at))


def refuse_closed(
    period: Period, last_closed: Period | None, field_name: str, at: datetime
) -> None:
    """Nothing may land in a closed period (``last_closed``: the household's newest)."""
    refuse(rules.closed_period_problem(period, last_closed, field_name, at))
