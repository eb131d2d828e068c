"""Opening periods (SPEC R1): the allowance buckets of every period, in order, once."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from accounts.models import Household
from core.periods import Period, period_range
from plans import rules
from plans.models import Terms
from plans.services.ledger import grant_entries, insert_buckets, new_bucket, write_entries
from plans.services.locks import lock_household
from plans.services.terms import load_terms, terms_in_force


def open_through(
    households: list[Household],
    targets: dict[int, Period],
    terms: dict[int, list[Terms]] | None = None,
) -> None:
    """SPEC R1: for each household, create the allowance buckets of every period up to
    its target (``rules.opening_buckets``), in order and never twice. The caller holds
    the households' locks."""
    terms = load_terms(households) if terms is None else terms
    buckets = []
    moved = defaultdict(list)
    now = timezone.now()
    for household in households:
        through = targets.get(household.pk)
        if through is None:
            continue
        opened = household.opened_through
        start = Period.parse(opened).next() if opened else household.first_period
        if through < start:
            continue
        calendar = household.calendar
        for period in period_range(start, through):
            in_force = terms_in_force(terms, household, period)
            buckets += [
                new_bucket(household.pk, spec, created_at=now)
                for spec in rules.opening_buckets(calendar, period, in_force)
            ]
        household.opened_through = through.key
        moved[through.key].append(household.pk)
    insert_buckets(buckets)
    write_entries(grant_entries(buckets))
    for key, ids in moved.items():
        Household.objects.filter(pk__in=ids).update(opened_through=key)


def open_periods(household: Household, through: Period) -> None:
    """R1 for one household (locked by the caller)."""
    open_through([household], {household.pk: through})


def ensure_open(household: Household, through: Period) -> None:
    """Open periods up to ``through`` if needed, in a transaction of its own (reads)."""
    current = Household.objects.filter(pk=household.pk).values_list("opened_through", flat=True)
    opened = current.get()
    household.opened_through = opened
    if (opened and Period.parse(opened) >= through) or through < household.first_period:
        return
    with transaction.atomic():
        locked = lock_household(household)
        open_periods(locked, through)
        household.opened_through = locked.opened_through
