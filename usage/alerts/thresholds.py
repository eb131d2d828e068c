"""The figures alerts compare against: percentages of the pool and of a cap, and days
before rolled-over data expires. A household's own where it set them, the site's else."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from accounts.models import Household
from usage.models import AlertSettings


@dataclass(frozen=True)
class Thresholds:
    pool_low_percent: int
    cap_near_percent: int
    rollover_warn_days: int
    rollover_last_warn_days: int


def thresholds(household: Household) -> Thresholds:
    """The household's own thresholds where it set them, the site's otherwise."""
    return thresholds_of(AlertSettings.objects.filter(household=household).first())


def thresholds_of(own: AlertSettings | None) -> Thresholds:
    """``own`` settings (or none) completed with the site's defaults."""

    def pick(name: str, default: int) -> int:
        value = getattr(own, name, None) if own else None
        return default if value is None else value

    return Thresholds(
        pick("pool_low_percent", settings.ALERT_POOL_LOW_PERCENT),
        pick("cap_near_percent", settings.ALERT_CAP_NEAR_PERCENT),
        pick("rollover_warn_days", settings.ALERT_ROLLOVER_WARN_DAYS),
        pick("rollover_last_warn_days", settings.ALERT_ROLLOVER_LAST_WARN_DAYS),
    )


def all_thresholds(households: list[int]) -> dict[int, Thresholds]:
    """``thresholds`` of many households (by id) in one query."""
    own = {s.household_id: s for s in AlertSettings.objects.filter(household_id__in=households)}
    return {pk: thresholds_of(own.get(pk)) for pk in households}
