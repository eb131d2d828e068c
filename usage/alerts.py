"""Alerts (pool low or empty, caps, rolled-over data expiring, period closed).

``evaluate`` runs inside the transaction that changed the accounts, under the household
lock: it records each alert whose condition now holds and that has not fired yet for its
subject, threshold and period (a unique constraint backs this), with one delivery per
recipient. Emails go out after the commit and are retried by ``send_alerts``; a failed
email is logged and never undoes the usage that caused it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Max, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Household, Member
from core.db import insert_objects, insert_rows
from core.errors import Refused
from core.periods import Period
from plans.models import Bucket, PeriodClose, Zone
from plans.services import lock_household
from usage.models import Alert, AlertDelivery, AlertOptOut, AlertSettings, UsageRecord

logger = logging.getLogger(__name__)
Kind = Alert.Kind


@dataclass(frozen=True)
class Thresholds:
    pool_low_percent: int
    cap_near_percent: int
    rollover_warn_days: int
    rollover_last_warn_days: int


def thresholds(household: Household) -> Thresholds:
    """The household's own thresholds where it set them, the site's otherwise."""
    return _thresholds(AlertSettings.objects.filter(household=household).first())


def _thresholds(own: AlertSettings | None) -> Thresholds:
    def pick(name: str, default: int) -> int:
        value = getattr(own, name, None) if own else None
        return default if value is None else value

    return Thresholds(
        pick("pool_low_percent", settings.ALERT_POOL_LOW_PERCENT),
        pick("cap_near_percent", settings.ALERT_CAP_NEAR_PERCENT),
        pick("rollover_warn_days", settings.ALERT_ROLLOVER_WARN_DAYS),
        pick("rollover_last_warn_days", settings.ALERT_ROLLOVER_LAST_WARN_DAYS),
    )


@dataclass(frozen=True)
class Due:
    household_id: int
    kind: str
    subject: str
    threshold: int
    period: str
    figures: dict
    recipients: list[Member]


@dataclass
class _Household:
    """What the evaluation of one household needs, loaded for a batch at once."""

    household: Household
    limits: Thresholds
    periods: list[Period]
    members: list[Member] = field(default_factory=list)

    @property
    def owner(self) -> Member | None:
        return next((m for m in self.members if m.role == Member.Role.OWNER), None)


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
    ids = [h.pk for h in targets]
    own_settings = {s.household_id: s for s in AlertSettings.objects.filter(household_id__in=ids)}
    batch: dict[int, _Household] = {}
    for household, periods in targets.items():
        periods = periods or [household.period_of(now)]
        # A period not opened yet has no allowance: its pool cannot be low or empty yet.
        # A period long over (an import of past months) is history, not news: only the
        # current period and the one before it, while it may still take late data, alert.
        opened = Period.parse(household.opened_through) if household.opened_through else None
        recent = household.period_of(now).previous()
        periods = [p for p in periods if opened is not None and recent <= p <= opened]
        limits = _thresholds(own_settings.get(household.pk))
        batch[household.pk] = _Household(household, limits, sorted(set(periods)))
    if members is not None:
        for pk, h in batch.items():
            h.members = members.get(pk, [])
    else:
        for member in Member.objects.filter(household_id__in=ids, active=True).select_related(
            "user"
        ):
            batch[member.household_id].members.append(member)

    due = _pool_alerts(batch) + _cap_alerts(batch)
    due += _expiry_alerts(batch, now) + _close_alerts(batch)
    return _record(batch, due, now)


def _period_keys(batch: dict[int, _Household]) -> set[str]:
    return {p.key for h in batch.values() for p in h.periods}


def _pool_alerts(batch: dict[int, _Household]) -> list[Due]:
    keys = _period_keys(batch)
    if not keys:
        return []
    bounds = [
        (h.household.calendar.start(p), h.household.calendar.end(p))
        for h in batch.values()
        for p in h.periods
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

    pools = []  # (household id, period, zone, granted, left) of each limited pool
    for pk, h in batch.items():
        calendar = h.household.calendar
        for period in h.periods:
            start, end = calendar.start(period), calendar.end(period)
            valid = [b for b in buckets[pk] if b.valid_from < end and b.expires_at > start]
            for zone in (Zone.DOMESTIC, Zone.ROAMING):
                mine = [b for b in valid if b.zone == zone]
                if any(b.granted_bytes is None for b in mine):
                    continue  # unlimited data never runs low
                granted = sum(b.granted_bytes for b in mine)
                pools.append((pk, period, zone, granted, sum(b.left_bytes for b in mine)))
    # Who used each pool matters for roaming (only its users hear of it) and for a
    # domestic pool of nothing (empty only once somebody used it): read just those.
    wanted = {Zone.ROAMING: list(batch)}
    wanted[Zone.DOMESTIC] = list({pk for pk, _, zone, granted, _ in pools if not granted})
    users = _users(wanted, _period_keys(batch))
    found = []
    for pk, period, zone, granted, left in pools:
        h = batch[pk]
        used_by = users[pk, period.key, zone]
        if zone == Zone.ROAMING:
            if not used_by:
                continue
            recipients = [m for m in h.members if m.pk in used_by or m == h.owner]
            low, empty = Kind.ROAMING_LOW, Kind.ROAMING_EMPTY
        else:
            recipients, low, empty = h.members, Kind.POOL_LOW, Kind.POOL_EMPTY
        figures = {"granted_bytes": granted, "left_bytes": left}
        percent = h.limits.pool_low_percent
        if granted and 100 * left <= percent * granted:
            found.append(Due(pk, low, zone, percent, period.key, figures, recipients))
        if left == 0 and (granted or used_by):
            found.append(Due(pk, empty, zone, 0, period.key, figures, recipients))
    return found


def _users(households: dict[str, list[int]], keys: set[str]) -> dict[tuple, set[int]]:
    """(household, period, zone) -> the members with usage there, for the households
    given for each zone."""
    users = defaultdict(set)
    for zone, ids in households.items():
        if not ids:
            continue
        for household_id, period, member_id in (
            UsageRecord.objects.filter(household_id__in=ids, period__in=keys, zone=zone)
            .values_list("household_id", "period", "member_id")
            .distinct()
        ):
            users[household_id, period, zone].add(member_id)
    return users


def _cap_alerts(batch: dict[int, _Household]) -> list[Due]:
    capped = [m for h in batch.values() for m in h.members if m.monthly_cap_bytes is not None]
    keys = _period_keys(batch)
    if not capped or not keys:
        return []
    totals = {
        (member_id, period): covered or 0
        for member_id, period, covered in UsageRecord.objects.filter(
            member_id__in=[m.pk for m in capped], period__in=keys
        )
        .values("member_id", "period")
        .annotate(covered=Sum("covered_bytes"))
        .values_list("member_id", "period", "covered")
    }
    found = []
    for pk, h in batch.items():
        owner = h.owner
        for period in h.periods:
            for member in h.members:
                if member.monthly_cap_bytes is None or (member.pk, period.key) not in totals:
                    continue  # no cap, or no usage this period: nothing to warn about
                covered, cap = totals[member.pk, period.key], member.monthly_cap_bytes
                recipients = [member] + ([owner] if owner and owner != member else [])
                figures = {"covered_bytes": covered, "cap_bytes": cap, "member": member.name}
                subject = f"member:{member.pk}"
                near = h.limits.cap_near_percent
                if 100 * covered >= near * cap:
                    found.append(
                        Due(pk, Kind.CAP_NEAR, subject, near, period.key, figures, recipients)
                    )
                if covered >= cap:
                    found.append(
                        Due(pk, Kind.CAP_REACHED, subject, 100, period.key, figures, recipients)
                    )
    return found


def _expiry_alerts(batch: dict[int, _Household], now: datetime) -> list[Due]:
    longest = max(h.limits.rollover_warn_days for h in batch.values())
    soon = Bucket.objects.filter(
        household_id__in=list(batch),
        kind=Bucket.Kind.ROLLOVER,
        left_bytes__gt=0,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=longest),
    )
    found = []
    for bucket in soon:
        h = batch[bucket.household_id]
        # The period of the bucket's last instant, not of now: an expiry moved past a
        # period's end must not warn again when the new period starts.
        last = bucket.expires_at - timedelta(microseconds=1)
        period = h.household.period_of(last).key
        figures = {"left_bytes": bucket.left_bytes, "expires_at": bucket.expires_at.isoformat()}
        warn = {h.limits.rollover_warn_days, h.limits.rollover_last_warn_days}
        for days in sorted(warn):
            if bucket.expires_at <= now + timedelta(days=days):
                found.append(
                    Due(
                        bucket.household_id,
                        Kind.ROLLOVER_EXPIRING,
                        f"bucket:{bucket.pk}",
                        days,
                        period,
                        figures,
                        h.members,
                    )
                )
    return found


def _close_alerts(batch: dict[int, _Household]) -> list[Due]:
    """Only the newest close is news: catching up on past months announces the last."""
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
            household_id__in=list(newest), kind=Kind.PERIOD_CLOSED, period__in=set(newest.values())
        ).values_list("household_id", "period")
    )
    todo = {pk: key for pk, key in newest.items() if (pk, key) not in announced}
    if not todo:
        return []
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
        .annotate(used=Sum("bytes"), overage=Sum("overage_bytes"))
    }
    found = []
    for close in closes:
        row = usage.get((close.household_id, close.period), {})
        figures = {
            "used_bytes": row.get("used") or 0,
            "overage_bytes": row.get("overage") or 0,
            "rolled_bytes": close.rolled_bytes,
            "expired_bytes": close.expired_bytes,
        }
        owner = batch[close.household_id].owner
        found.append(
            Due(
                close.household_id,
                Kind.PERIOD_CLOSED,
                f"close:{close.period}",
                0,
                close.period,
                figures,
                [owner] if owner else [],
            )
        )
    return found


def _record(batch: dict[int, _Household], due: list[Due], now: datetime) -> list[Alert]:
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


def send_pending(ids: list[int] | None = None) -> tuple[int, int]:
    """Email the deliveries not sent yet (those of ``ids``, or all that may still be
    retried). Returns (sent, failed). Never raises: a failure is logged and counted."""
    pending = AlertDelivery.objects.filter(
        sent_at__isnull=True, attempts__lt=settings.ALERT_EMAIL_ATTEMPTS
    ).select_related("alert__household", "member__user")
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    sent = failed = 0
    for delivery in pending.exclude(member__user__email=""):
        # Claim the delivery first, in one conditional UPDATE: another run at the same
        # moment (send_alerts on a second host, or beside a commit's own send) finds it
        # taken and skips it, so no email goes twice. A failure hands it back.
        claimed = AlertDelivery.objects.filter(
            pk=delivery.pk, sent_at__isnull=True, attempts__lt=settings.ALERT_EMAIL_ATTEMPTS
        ).update(sent_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
        if not claimed:
            continue
        try:
            _send(delivery)
        except Exception as error:  # any mail failure is logged and retried later
            failed += 1
            logger.warning("alert email %s to %s failed: %s", delivery.pk, delivery.member, error)
            AlertDelivery.objects.filter(pk=delivery.pk).update(
                sent_at=None, last_error=str(error)[:300]
            )
        else:
            sent += 1
    return sent, failed


def _send(delivery: AlertDelivery) -> None:
    member, alert = delivery.member, delivery.alert
    language = member.language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(alert.household.calendar.zone):
        context = {
            "alert": alert,
            "member": member,
            "household": alert.household,
            "link": settings.SITE_URL + reverse("usage:dashboard"),
            "figures": alert.figures,
        }
        subject = render_to_string("emails/alert_subject.txt", context).strip()
        body = render_to_string("emails/alert_body.txt", context)
    send_mail(subject, body, None, [member.user.email])


def dismiss(member: Member, delivery_id: int) -> bool:
    """Hide one notice from the member's dashboard."""
    return bool(
        AlertDelivery.objects.filter(
            pk=delivery_id, member=member, dismissed_at__isnull=True
        ).update(dismissed_at=timezone.now())
    )


NOTICE_DAYS = 31


def notices(member: Member, *, now: datetime | None = None, limit: int = 10) -> list[AlertDelivery]:
    """The member's notices of the last month not dismissed yet, newest first."""
    recent = (now or timezone.now()) - timedelta(days=NOTICE_DAYS)
    return list(
        AlertDelivery.objects.filter(
            member=member, dismissed_at__isnull=True, alert__created_at__gte=recent
        )
        .select_related("alert")
        .order_by("-alert__created_at", "-id")[:limit]
    )


def set_preferences(member: Member, *, disabled: set[str], language: str | None = None) -> None:
    """Turn kinds of alert off (and the rest on), and choose the emails' language."""
    unknown = disabled - set(Kind.values)
    if unknown:
        raise Refused("alerts", "unknown kind of alert", ", ".join(sorted(unknown)))
    if member.role != Member.Role.OWNER:
        # "Period closed" is the owner's alone: a member's choice about it must not
        # follow them if they become the owner, who only turns it off by their own choice.
        disabled = disabled - {Kind.PERIOD_CLOSED}
    with transaction.atomic():
        AlertOptOut.objects.filter(member=member).exclude(kind__in=disabled).delete()
        existing = set(AlertOptOut.objects.filter(member=member).values_list("kind", flat=True))
        AlertOptOut.objects.bulk_create(
            AlertOptOut(member=member, kind=kind) for kind in disabled - existing
        )
        if language is not None:
            member.language = language
            member.full_clean(exclude=["user", "household"])
            member.save(update_fields=["language"])


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
