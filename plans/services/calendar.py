"""Calendar changes (SPEC §1): a household's time zone, cycle day and start period."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Household
from core.errors import Refused
from plans import selectors
from plans.models import Bucket, LedgerEntry, Terms
from plans.services.locks import lock_household

CALENDAR_FIELDS = ("time_zone", "cycle_day", "start_period")
FIXED = "cannot change once the household has usage or grants"


def calendar_changes(household: Household, requested: dict) -> dict:
    """The calendar fields of ``requested`` (None: not asked) that differ from the
    household's."""
    return {
        name: value
        for name, value in requested.items()
        if value is not None and getattr(household, name) != value
    }


def change_calendar(
    household: Household,
    *,
    time_zone: str | None = None,
    cycle_day: int | None = None,
    start_period: str | None = None,
) -> Household:
    """SPEC §1: change a household's time zone, cycle day or start period, refused once
    it has usage or grants (``Household.calendar_fixed``, set when bytes first move).
    Returns the household as saved.

    Periods opened so far (by a status read) hold nothing but untouched allowances: they
    are removed with their grant entries and open again on the new calendar, and the
    terms collapse into the latest ones, in force from the (new) start period, as for a
    household without activity.
    """
    requested = {
        name: value
        for name, value in zip(CALENDAR_FIELDS, (time_zone, cycle_day, start_period), strict=True)
        if value is not None
    }
    if "cycle_day" in requested and (isinstance(cycle_day, bool) or not isinstance(cycle_day, int)):
        raise Refused("cycle_day", "must be an integer from 1 to 28", cycle_day)
    with transaction.atomic():
        locked = lock_household(household)
        changes = calendar_changes(locked, requested)
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            locked.full_clean(
                exclude=[f.name for f in Household._meta.fields if f.name not in changes]
            )
        except ValidationError as error:
            name, messages = next(iter(error.message_dict.items()))
            raise Refused(name, messages[0], changes.get(name)) from error
        if locked.calendar_fixed:
            name, value = next(iter(changes.items()))
            raise Refused(name, FIXED, value)
        _reopen(locked)
        locked.save(update_fields=[*changes, "opened_through"])
    for name, value in changes.items():
        setattr(household, name, value)
    household.opened_through = locked.opened_through
    household.__dict__.pop("calendar", None)  # a cached_property built on the old values
    return locked


def _reopen(household: Household) -> None:
    """Forget the opened periods (untouched allowances only: the caller checked) and put
    the latest terms in force from the start period. The household is locked."""
    allowances = Bucket.objects.filter(household=household, kind=Bucket.Kind.ALLOWANCE)
    LedgerEntry.objects.filter(bucket__in=allowances).delete()
    allowances.delete()
    household.opened_through = ""
    latest = selectors.latest_terms(household)
    if latest is not None:
        Terms.objects.filter(household=household).exclude(pk=latest.pk).delete()
        if latest.period != household.start_period:
            latest.period = household.start_period
            latest.save(update_fields=["period"])
