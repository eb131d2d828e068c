"""The figures alerts are evaluated on, read for a batch of households at once: the
pools of each period, who used them, what each capped member used, rolled-over data
expiring soon and the closes not announced yet. A number of queries that does not grow
with the number of households."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Max, QuerySet, Sum

from accounts.models import Household, Member
from core.periods import Period
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, PeriodClose, Zone
from usage.alerts import rules
from usage.alerts.thresholds import Thresholds, all_thresholds
from usage.models import Alert, UsageRecord


@dataclass
class Target:
    """What the evaluation of one household needs, loaded for a batch at once."""

    household: Household
    limits: Thresholds
    periods: list[Period]
    members: list[Member] = field(default_factory=list)

    @property
    def owner(self) -> Member | None:
        return next((m for m in self.members if m.is_owner), None)


Batch = dict[int, Target]  # by household id


def load_batch(
    targets: dict[Household, list[Period] | None],
    *,
    now: datetime,
    members: dict[int, list[Member]] | None,
) -> Batch:
    """Each household with its thresholds, the periods that may alert (default: the
    period containing now) and its active members (``members`` when the caller has
    them up to date already)."""
    limits = all_thresholds([h.pk for h in targets])
    batch: Batch = {}
    for household, periods in targets.items():
        current = household.period_of(now)
        opened = Period.parse(household.opened_through) if household.opened_through else None
        chosen = rules.alerting_periods(periods or [current], opened=opened, current=current)
        batch[household.pk] = Target(household, limits[household.pk], chosen)
    if members is not None:
        for pk, target in batch.items():
            target.members = members.get(pk, [])
    else:
        for member in Member.objects.filter(
            household_id__in=list(batch), active=True
        ).select_related("user"):
            batch[member.household_id].members.append(member)
    return batch


def period_keys(batch: Batch) -> set[str]:
    return {p.key for target in batch.values() for p in target.periods}


class Pool(NamedTuple):
    """One zone's data of one household and period; ``None``: unlimited."""

    household_id: int
    period: Period
    zone: str
    granted: int | None
    left: int | None


def pools(batch: Batch) -> list[Pool]:
    """The domestic and the roaming pool of each household and period."""
    if not period_keys(batch):
        return []
    buckets = _buckets(batch)
    found = []
    for pk, target in batch.items():
        calendar = target.household.calendar
        for period in target.periods:
            start, end = calendar.start(period), calendar.end(period)
            valid = [b for b in buckets[pk] if b.valid_from < end and b.expires_at > start]
            for zone in (Zone.DOMESTIC, Zone.ROAMING):
                found.append(_pool(pk, period, zone, [b for b in valid if b.zone == zone]))
    return found


def _pool(pk: int, period: Period, zone: str, buckets: list) -> Pool:
    if any(b.granted_bytes is None for b in buckets):
        return Pool(pk, period, zone, None, None)
    granted = sum(b.granted_bytes for b in buckets)
    return Pool(pk, period, zone, granted, sum(b.left_bytes for b in buckets))


def _buckets(batch: Batch) -> dict[int, list]:
    """The buckets (by household) valid at some time of the batch's periods."""
    bounds = [
        (target.household.calendar.start(p), target.household.calendar.end(p))
        for target in batch.values()
        for p in target.periods
    ]
    buckets = defaultdict(list)
    for bucket in Bucket.objects.filter(
        household_id__in=list(batch),
        valid_from__lt=max(end for _, end in bounds),
        expires_at__gt=min(start for start, _ in bounds),
    ).values_list(
        "household_id",
        "zone",
        "granted_bytes",
        "left_bytes",
        "valid_from",
        "expires_at",
        named=True,
    ):
        buckets[bucket.household_id].append(bucket)
    return buckets


def pool_users(batch: Batch, found: list[Pool]) -> dict[tuple, set[int]]:
    """(household, period, zone) -> the members with usage there. Who used a pool
    matters for roaming (only its users hear of it) and for a domestic pool of nothing
    (empty only once somebody used it): just those are read."""
    wanted = {
        Zone.ROAMING: list(batch),
        Zone.DOMESTIC: list({p.household_id for p in found if p.granted == 0}),
    }
    keys = period_keys(batch)
    users = defaultdict(set)
    for zone, ids in wanted.items():
        if not ids:
            continue
        for household_id, period, member_id in (
            UsageRecord.objects.filter(household_id__in=ids, period__in=keys, zone=zone)
            .values_list("household_id", "period", "member_id")
            .distinct()
        ):
            users[household_id, period, zone].add(member_id)
    return users


def cap_usage(batch: Batch) -> dict[tuple[int, str], int]:
    """(member, period) -> the bytes the pool covered for each capped member with usage
    in the period."""
    capped = [m for t in batch.values() for m in t.members if m.monthly_cap_bytes is not None]
    keys = period_keys(batch)
    if not capped or not keys:
        return {}
    return {
        (member_id, period): covered or 0
        for member_id, period, covered in UsageRecord.objects.filter(
            member_id__in=[m.pk for m in capped], period__in=keys
        )
        .values("member_id", "period")
        .annotate(covered=Sum("covered_bytes"))
        .values_list("member_id", "period", "covered")
    }


def expiring_rollovers(batch: Batch, now: datetime) -> QuerySet[Bucket]:
    """Rolled-over buckets with bytes left that expire within the longest warning."""
    longest = max(target.limits.rollover_warn_days for target in batch.values())
    return Bucket.objects.filter(
        household_id__in=list(batch),
        kind=Bucket.Kind.ROLLOVER,
        left_bytes__gt=0,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=longest),
    )


class Close(NamedTuple):
    household_id: int
    period: str
    figures: dict


def closes_to_announce(batch: Batch) -> list[Close]:
    """The newest close of each household, if not announced yet, with its figures."""
    newest = dict(
        PeriodClose.objects.filter(household_id__in=list(batch))
        .values("household_id")
        .annotate(last=Max("period"))
        .values_list("household_id", "last")
    )
    if not newest:
        return []
    announced = set(
        Alert.objects.filter(
            household_id__in=list(newest),
            kind=Alert.Kind.PERIOD_CLOSED,
            period__in=set(newest.values()),
        ).values_list("household_id", "period")
    )
    todo = {
        pk: key
        for pk, key in newest.items()
        if rules.period_closed(newest=key, announced=(pk, key) in announced)
    }
    if not todo:
        return []
    return _closes(todo)


def _closes(todo: dict[int, str]) -> list[Close]:
    """Each close of ``todo`` (household -> period) with the figures its email shows."""
    closes = [
        c
        for c in PeriodClose.objects.filter(
            household_id__in=list(todo), period__in=set(todo.values())
        )
        if todo.get(c.household_id) == c.period
    ]
    usage = {
        (row["household_id"], row["period"]): row
        for row in UsageRecord.objects.filter(
            household_id__in=list(todo), period__in=set(todo.values())
        )
        .values("household_id", "period")
        .annotate(
            used=Sum("bytes"),
            overage=Sum("overage_bytes"),
            capped=Sum("capped_bytes"),
            beyond_fair_use=Sum("beyond_fair_use_bytes"),
        )
    }
    terms = plan_services.load_terms(list(todo))
    found = []
    for close in closes:
        row = usage.get((close.household_id, close.period), {})
        in_force = plan_selectors.terms_in_force(
            terms.get(close.household_id, []), Period.parse(close.period)
        )
        figures = {
            "used_bytes": row.get("used") or 0,
            "overage_bytes": row.get("overage") or 0,
            # R12: the email names the uncovered bytes as the period's terms say.
            "capped_bytes": row.get("capped") or 0,
            "beyond_fair_use_bytes": row.get("beyond_fair_use") or 0,
            "when_pool_is_empty": in_force.when_pool_is_empty if in_force else None,
            "rolled_bytes": close.rolled_bytes,
            "expired_bytes": close.expired_bytes,
        }
        found.append(Close(close.household_id, close.period, figures))
    return found
