"""Row locks taken before bytes move, always in primary-key order."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from accounts.models import Household

PAGE = 500  # ids per locking query


def lock_objects(queryset: models.QuerySet, ids: Iterable[int]) -> list[models.Model]:
    """Lock the rows of ``queryset`` with the primary keys ``ids`` for this transaction,
    in primary-key order (the one order that cannot deadlock), a query per page of ids.
    """
    ids = sorted(ids)
    locked: list[models.Model] = []
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        locked += queryset.select_for_update().filter(pk__in=page).order_by("pk")
    return locked


def lock_households(ids: list[int]) -> list[Household]:
    """Lock many households (see ``lock_objects``)."""
    return lock_objects(Household.objects.all(), ids)


def lock_household(household: Household) -> Household:
    """Lock the household row for this transaction and return it fresh.

    Every write that moves a household's bytes takes this lock first, so writers on
    one household run one after the other (PostgreSQL row lock; on SQLite the
    IMMEDIATE transaction already serialises writers).
    """
    locked = lock_households([household.pk])
    if not locked:
        raise Household.DoesNotExist(f"no household #{household.pk}")
    return locked[0]
