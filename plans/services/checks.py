"""Checks shared by everything that writes to a household's accounts (SPEC R5)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import Household
from core.errors import Refused
from core.periods import EARLIEST, LATEST, Period
from plans import selectors


def as_aware(household: Household, value: datetime, field_name: str) -> datetime:
    """An aware datetime; a time without an offset is read in the household's zone."""
    if not isinstance(value, datetime):
        raise Refused(field_name, "must be a date and time", value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=household.calendar.zone)
    refuse_out_of_range(field_name, value)
    return value


def refuse_out_of_range(field_name: str, value: datetime) -> None:
    if not EARLIEST <= value < LATEST:
        raise Refused(field_name, "must be from the year 1900 to 8999", value.isoformat())


def require_plan(household: Household) -> None:
    if selectors.latest_terms(household) is None:
        raise Refused("plan", "the household has no plan yet", household.slug)


def refuse_before_start(household: Household, period: Period, field_name: str, at: datetime):
    if period < household.first_period:
        raise Refused(
            field_name,
            f"is before the household's start period {household.start_period}",
            at.isoformat(),
        )


def refuse_closed(
    period: Period, last_closed: Period | None, field_name: str, at: datetime
) -> None:
    """Nothing may land in a closed period (``last_closed``: the household's newest)."""
    if last_closed is not None and period <= last_closed:
        raise Refused(field_name, f"falls in period {period.key}, which is closed", at.isoformat())
