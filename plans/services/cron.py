"""The cron close (SPEC R4): every household, in batches, each batch in one transaction."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Household
from core.periods import Period
from plans.models import PeriodClose
from plans.services.closing import close_due
from plans.services.locks import lock_households
from plans.services.opening import open_through
from plans.services.terms import load_terms

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class HouseholdCloseResult:
    household: Household
    closes: list[PeriodClose] = field(default_factory=list)
    error: str = ""

    @property
    def rolled_bytes(self) -> int:
        return sum(c.rolled_bytes for c in self.closes)

    @property
    def expired_bytes(self) -> int:
        return sum(c.expired_bytes for c in self.closes)


@dataclass
class CloseReport:
    results: list[HouseholdCloseResult]
    dry_run: bool = False

    @property
    def closed(self) -> list[HouseholdCloseResult]:
        return [r for r in self.results if r.closes]

    @property
    def failures(self) -> list[HouseholdCloseResult]:
        return [r for r in self.results if r.error]

    @property
    def rolled_bytes(self) -> int:
        return sum(r.rolled_bytes for r in self.results)

    @property
    def expired_bytes(self) -> int:
        return sum(r.expired_bytes for r in self.results)


def close_batch(ids: list[int], *, now, through, dry_run) -> list[HouseholdCloseResult]:
    """Close and open the periods of the households ``ids`` in one transaction."""
    with transaction.atomic(durable=True):
        households = lock_households(ids)
        terms = load_terms(households)
        closes = close_due(households, now=now, through=through, terms=terms)
        planned = [h for h in households if h.pk in terms]
        open_through(planned, {h.pk: h.period_of(now) for h in planned}, terms)
        if dry_run:
            transaction.set_rollback(True)
    return [HouseholdCloseResult(h, closes.get(h.pk, [])) for h in households]


def _one_by_one(batch: list[int], **options) -> list[HouseholdCloseResult]:
    results = []
    for pk in batch:
        try:
            results += close_batch([pk], **options)
        except Exception as error:  # one household's failure must not stop the others
            logger.exception("closing the periods of household #%s failed", pk)
            failed = Household.objects.get(pk=pk)
            results.append(HouseholdCloseResult(failed, error=str(error)))
    return results


def close_periods(
    *,
    through: Period | None = None,
    household: Household | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
    each_batch: Callable[[], AbstractContextManager] = contextlib.nullcontext,
) -> CloseReport:
    """SPEC R4: close every period whose grace has passed (no later than ``through``),
    for every household or one, and open each household's current period (R1).

    Households are closed in batches, each batch in one transaction. If a batch fails,
    its households are closed again one by one, each in its own transaction, so a
    household that fails keeps none of its close and the others still close. With
    ``dry_run`` the same work runs and is rolled back, so the report shows exactly what
    would be rolled and expired. ``progress(n)`` is called after each batch; each
    batch runs inside ``each_batch()`` (the command pauses the garbage collector there).
    """
    now = now or timezone.now()
    households = Household.objects.order_by("pk")
    if household is not None:
        households = households.filter(pk=household.pk)
    ids = list(households.values_list("pk", flat=True))
    options = {"now": now, "through": through, "dry_run": dry_run}
    results = []
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        try:
            with each_batch():
                results += close_batch(batch, **options)
        except Exception:
            results += _one_by_one(batch, **options)
        if progress is not None:
            progress(len(batch))
    return CloseReport(results, dry_run=dry_run)
