"""Evaluation: load the figures, ask the rules, record the alerts that fire.

``evaluate`` runs inside the transaction that changed the accounts, under the household
lock: it records each alert whose condition now holds and that has not fired yet for its
subject, threshold and period (a unique constraint backs this), with one delivery per
recipient, and leaves the emails to the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from accounts.models import Household, Member
from core.db import insert_objects, insert_rows
from core.periods import Period
from plans.models import Zone
from usage.alerts import fair_use as terms_load
from usage.alerts import figures as load
from usage.alerts import rules
from usage.alerts.delivery import send_pending
from usage.alerts.figures import Batch, Pool, Target
from usage.models import Alert, AlertDelivery, AlertOptOut

Kind = Alert.Kind


@dataclass(frozen=True)
class Due:
    household_id: int
    kind: str
    subject: str
    threshold: int
    period: str
    figures: dict
    recipients: list[Member]


def evaluate(
    household: Household, *, now: datetime, periods: list[Period] | None = None
) -> list[Alert]:
    """Record the alerts that are due for ``household`` (the caller holds its lock):
    pool and cap alerts of ``periods`` (default: the period containing now), rolled-over
    data expiring soon, and the newest close not yet announced."""
    return evaluate_many({household: periods}, now=now)


def evaluate_many(
    targets: dict[Household, list[Period] | None],
    *,
    now: datetime,
    members: dict[int, list[Member]] | None = None,
) -> list[Alert]:
    """``evaluate`` for many households (all locked by the caller) with a number of
    queries that does not grow with the number of households. ``members``: the active
    members of each household, when the caller has them up to date already."""
    if not targets:
        return []
    batch = load.load_batch(targets, now=now, members=members)
    terms = terms_load.batch_terms(batch)
    due = _pool_alerts(batch, terms) + _cap_alerts(batch) + _fair_use_alerts(batch, terms)
    due += _expiry_alerts(batch, now) + _close_alerts(batch)
    return _record(batch, due, now)


def _pool_alerts(batch: Batch, terms: dict) -> list[Due]:
    pools = load.pools(batch)
    if not pools:
        return []  # no period may alert: who used what need not be read
    users = load.pool_users(batch, pools)
    found = []
    for pool in pools:
        in_force = terms.get((pool.household_id, pool.period.key))
        when_empty = in_force.when_pool_is_empty if in_force else None
        found += _alerts_of_pool(batch[pool.household_id], pool, users, when_empty)
    return found


def _alerts_of_pool(
    target: Target, pool: Pool, users: dict[tuple, set[int]], when_empty: str | None
) -> list[Due]:
    used_by = users[pool.household_id, pool.period.key, pool.zone]
    used, percent = bool(used_by), target.limits.pool_low_percent
    amounts = {"granted": pool.granted, "left": pool.left}
    if pool.zone == Zone.ROAMING:  # only those who roamed hear of it, and the owner
        owner = target.owner
        recipients = [m for m in target.members if m.pk in used_by or m == owner]
        low = Kind.ROAMING_LOW, rules.roaming_low(**amounts, percent=percent, used=used)
        empty = Kind.ROAMING_EMPTY, rules.roaming_empty(**amounts, used=used)
    else:
        recipients = target.members
        low = Kind.POOL_LOW, rules.pool_low(**amounts, percent=percent)
        empty = Kind.POOL_EMPTY, rules.pool_empty(**amounts, used=used)
    # R12: the emails name what follows as the period's terms say.
    figures = {
        "granted_bytes": pool.granted,
        "left_bytes": pool.left,
        "when_pool_is_empty": when_empty,
    }
    return [
        Due(pool.household_id, kind, pool.zone, threshold, pool.period.key, figures, recipients)
        for (kind, fires), threshold in ((low, percent), (empty, 0))
        if fires
    ]


def _cap_alerts(batch: Batch) -> list[Due]:
    totals = load.cap_usage(batch)
    found = []
    for target in batch.values():
        for period in target.periods:
            for member in target.members:
                found += _alerts_of_cap(target, period, member, totals.get((member.pk, period.key)))
    return found


def _alerts_of_cap(
    target: Target, period: Period, member: Member, covered: int | None
) -> list[Due]:
    cap, near = member.monthly_cap_bytes, target.limits.cap_near_percent
    checks = [
        (Kind.CAP_NEAR, near, rules.cap_near(covered=covered, cap=cap, percent=near)),
        (Kind.CAP_REACHED, 100, rules.cap_reached(covered=covered, cap=cap)),
    ]
    if not any(fires for _, _, fires in checks):
        return []  # no cap, no usage this period, or not near the cap
    owner = target.owner
    recipients = [member] + ([owner] if owner and owner != member else [])
    figures = {"covered_bytes": covered, "cap_bytes": cap, "member": member.name}
    return [
        Due(
            target.household.pk,
            kind,
            f"member:{member.pk}",
            threshold,
            period.key,
            figures,
            recipients,
        )
        for kind, threshold, fires in checks
        if fires
    ]


def _fair_use_alerts(batch: Batch, terms: dict) -> list[Due]:
    """SPEC R10: a member whose roaming drew most of their fair-use volume from the
    domestic pool hears of it (and the owner), at the cap-near threshold and at 100 %."""
    volume_of = terms_load.volumes(terms)
    used = terms_load.fair_use_usage(volume_of)
    found = []
    for (household_id, period), volume in volume_of.items():
        target = batch[household_id]
        owner = target.owner
        for member in target.members:
            drawn = used.get((member.pk, period))
            figures = {"used_bytes": drawn, "volume_bytes": volume, "member": member.name}
            recipients = [member] + ([owner] if owner and owner != member else [])
            found += [
                Due(
                    household_id,
                    Kind.FAIR_USE,
                    f"member:{member.pk}",
                    percent,
                    period,
                    figures,
                    recipients,
                )
                for percent in sorted({target.limits.cap_near_percent, 100})
                if rules.fair_use_near(used=drawn, volume=volume, percent=percent)
            ]
    return found


def _expiry_alerts(batch: Batch, now: datetime) -> list[Due]:
    found = []
    for bucket in load.expiring_rollovers(batch, now):
        target = batch[bucket.household_id]
        period = target.household.period_of(rules.last_instant(bucket.expires_at)).key
        figures = {"left_bytes": bucket.left_bytes, "expires_at": bucket.expires_at.isoformat()}
        warn = (target.limits.rollover_warn_days, target.limits.rollover_last_warn_days)
        for days in rules.rollover_warnings(
            left=bucket.left_bytes, expires_at=bucket.expires_at, now=now, warn_days=warn
        ):
            found.append(
                Due(
                    bucket.household_id,
                    Kind.ROLLOVER_EXPIRING,
                    f"bucket:{bucket.pk}",
                    days,
                    period,
                    figures,
                    target.members,
                )
            )
    return found


def _close_alerts(batch: Batch) -> list[Due]:
    found = []
    for close in load.closes_to_announce(batch):
        owner = batch[close.household_id].owner
        found.append(
            Due(
                close.household_id,
                Kind.PERIOD_CLOSED,
                f"close:{close.period}",
                0,
                close.period,
                close.figures,
                [owner] if owner else [],
            )
        )
    return found


def _record(batch: Batch, due: list[Due], now: datetime) -> list[Alert]:
    """Keep the alerts that have not fired yet, with one delivery per recipient who did
    not turn the kind off, and email them once the transaction commits."""
    if not due:
        return []
    fired = set(
        Alert.objects.filter(
            household_id__in={d.household_id for d in due}, period__in={d.period for d in due}
        ).values_list("household_id", "kind", "subject", "threshold", "period")
    )
    fresh = [
        d for d in due if (d.household_id, d.kind, d.subject, d.threshold, d.period) not in fired
    ]
    if not fresh:
        return []
    alerts = [
        Alert(
            household=batch[d.household_id].household,
            kind=d.kind,
            subject=d.subject,
            threshold=d.threshold,
            period=d.period,
            figures=d.figures,
            created_at=now,
        )
        for d in fresh
    ]
    insert_objects(
        alerts, ["household", "kind", "subject", "threshold", "period", "figures", "created_at"]
    )
    opted_out = set(
        AlertOptOut.objects.filter(
            member__household_id__in={d.household_id for d in fresh}
        ).values_list("member_id", "kind")
    )
    ids = insert_rows(
        AlertDelivery,
        ["alert", "member", "attempts", "last_error"],
        [
            (alert.pk, member.pk, 0, "")
            for alert, d in zip(alerts, fresh, strict=True)
            for member in d.recipients
            if (member.pk, d.kind) not in opted_out
        ],
        returning_ids=True,
    )
    transaction.on_commit(lambda: send_pending(ids))
    return alerts
