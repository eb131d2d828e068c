"""The daily alerts run, household by household."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Household
from plans.services import lock_household
from usage.alerts.evaluation import evaluate

logger = logging.getLogger("usage.alerts")  # one logger for the whole package


def check_all(*, now: datetime | None = None) -> int:
    """The daily run: for every household, expiring rolled-over data and closes not yet
    announced (and pool or cap alerts of the current period). Returns alerts fired."""
    now = now or timezone.now()
    fired = 0
    for household in Household.objects.order_by("pk").iterator():
        try:
            with transaction.atomic():
                locked = lock_household(household)
                if locked.opened_through:
                    fired += len(evaluate(locked, now=now))
        except Exception:  # one household's failure must not stop the others' alerts
            logger.exception("alerts of household %s failed", household.slug)
    return fired
