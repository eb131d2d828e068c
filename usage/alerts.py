"""Alerts (pool low or empty, caps, rolled-over data expiring, period closed).

``evaluate`` runs inside the transaction that changed the accounts, under the household
lock: it records each alert whose condition now holds and that has not fired yet for its
subject, threshold and period (a unique constraint backs this), with one delivery per
recipient. Emails go out after the commit and are retried by ``send_alerts``; a failed
email is logged and never undoes the usage that caused it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.errors import Refused
from accounts.models import Household, Member
from plans.models import Bucket, PeriodClose, Zone
from plans.periods import Period
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
    own = AlertSettings.objects.filter(household=household).first()

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
    data expiring soon, and closes not yet announced."""
    limits = thresholds(household)
    periods = periods or [household.period_of(now)]
    # A period not opened yet has no allowance: its pool cannot be low or empty yet.
    # A period long over (an import of past months) is history, not news: only the
    # current period and the one before it, while it may still take late data, alert.
    opened = Period.parse(household.opened_through) if household.opened_through else None
    recent = household.period_of(now).previous()
    periods = [p for p in periods if opened is not None and recent <= p <= opened]
    members = list(household.members.filter(active=True).select_related("user"))
    owner = next((m for m in members if m.role == Member.Role.OWNER), None)
    due: list[Due] = []
    for period in periods:
        due += _pool_alerts(household, period, limits, members, owner)
        due += _cap_alerts(household, period, limits, members, owner)
    due += _expiry_alerts(household, now, limits, members)
    due += _close_alerts(household, owner)
    return _record(household, due, now)


def _pool_alerts(household, period: Period, limits: Thresholds, members, owner) -> list[Due]:
    start, end = household.calendar.start(period), household.calendar.end(period)
    buckets = Bucket.objects.filter(household=household, valid_from__lt=end, expires_at__gt=start)
    found = []
    for zone, low, empty in (
        (Zone.DOMESTIC, Kind.POOL_LOW, Kind.POOL_EMPTY),
        (Zone.ROAMING, Kind.ROAMING_LOW, Kind.ROAMING_EMPTY),
    ):
        mine = [b for b in buckets if b.zone == zone]
        if any(b.granted_bytes is None for b in mine):
            continue  # unlimited data never runs low
        granted = sum(b.granted_bytes for b in mine)
        left = sum(b.left_bytes for b in mine)
        used = UsageRecord.objects.filter(household=household, period=period.key, zone=zone)
        if zone == Zone.ROAMING:
            roamers = set(used.values_list("member_id", flat=True))
            recipients = [m for m in members if m.pk in roamers or m == owner]
            if not roamers:
                continue
        else:
            recipients = members
        figures = {"granted_bytes": granted, "left_bytes": left}
        if granted and 100 * left <= limits.pool_low_percent * granted:
            found.append(Due(low, zone, limits.pool_low_percent, period.key, figures, recipients))
        if left == 0 and (granted or used.exists()):
            found.append(Due(empty, zone, 0, period.key, figures, recipients))
    return found


def _cap_alerts(household, period: Period, limits: Thresholds, members, owner) -> list[Due]:
    capped = [m for m in members if m.monthly_cap_bytes is not None]
    if not capped:
        return []
    totals = dict(
        UsageRecord.objects.filter(member__in=capped, period=period.key)
        .values("member_id")
        .annotate(covered=Sum("covered_bytes"))
        .values_list("member_id", "covered")
    )
    found = []
    for member in capped:
        if member.pk not in totals:
            continue  # no usage this period: nothing to warn about
        covered, cap = totals[member.pk] or 0, member.monthly_cap_bytes
        recipients = [member] + ([owner] if owner and owner != member else [])
        figures = {"covered_bytes": covered, "cap_bytes": cap, "member": member.name}
        subject = f"member:{member.pk}"
        if 100 * covered >= limits.cap_near_percent * cap:
            found.append(
                Due(
                    Kind.CAP_NEAR, subject, limits.cap_near_percent, period.key, figures, recipients
                )
            )
        if covered >= cap:
            found.append(Due(Kind.CAP_REACHED, subject, 100, period.key, figures, recipients))
    return found


def _expiry_alerts(household, now: datetime, limits: Thresholds, members) -> list[Due]:
    found = []
    horizon = now + timedelta(days=limits.rollover_warn_days)
    soon = Bucket.objects.filter(
        household=household,
        kind=Bucket.Kind.ROLLOVER,
        left_bytes__gt=0,
        expires_at__gt=now,
        expires_at__lte=horizon,
    )
    for bucket in soon:
        # The period of the bucket's last instant, not of now: an expiry moved past a
        # period's end must not warn again when the new period starts.
        period = household.period_of(bucket.expires_at - timedelta(microseconds=1)).key
        figures = {"left_bytes": bucket.left_bytes, "expires_at": bucket.expires_at.isoformat()}
        for days in sorted({limits.rollover_warn_days, limits.rollover_last_warn_days}):
            if bucket.expires_at <= now + timedelta(days=days):
                found.append(
                    Due(
                        Kind.ROLLOVER_EXPIRING,
                        f"bucket:{bucket.pk}",
                        days,
                        period,
                        figures,
                        members,
                    )
                )
    return found


def _close_alerts(household, owner) -> list[Due]:
    announced = set(
        Alert.objects.filter(household=household, kind=Kind.PERIOD_CLOSED).values_list(
            "period", flat=True
        )
    )
    # Only the newest close is news: catching up on past months announces the last one.
    closes = (
        PeriodClose.objects.filter(household=household)
        .exclude(period__in=announced)
        .order_by("-period")[:1]
    )
    found = []
    for close in closes:
        usage = UsageRecord.objects.filter(household=household, period=close.period).aggregate(
            used=Sum("bytes"), overage=Sum("overage_bytes")
        )
        figures = {
            "used_bytes": usage["used"] or 0,
            "overage_bytes": usage["overage"] or 0,
            "rolled_bytes": close.rolled_bytes,
            "expired_bytes": close.expired_bytes,
        }
        found.append(
            Due(
                Kind.PERIOD_CLOSED,
                f"close:{close.period}",
                0,
                close.period,
                figures,
                [owner] if owner else [],
            )
        )
    return found


def _record(household: Household, due: list[Due], now: datetime) -> list[Alert]:
    if not due:
        return []
    fired = set(
        Alert.objects.filter(household=household, period__in={d.period for d in due}).values_list(
            "kind", "subject", "threshold", "period"
        )
    )
    fresh = [d for d in due if (d.kind, d.subject, d.threshold, d.period) not in fired]
    if not fresh:
        return []
    alerts = Alert.objects.bulk_create(
        Alert(
            household=household,
            kind=d.kind,
            subject=d.subject,
            threshold=d.threshold,
            period=d.period,
            figures=d.figures,
            created_at=now,
        )
        for d in fresh
    )
    opted_out = set(
        AlertOptOut.objects.filter(member__household=household).values_list("member_id", "kind")
    )
    deliveries = AlertDelivery.objects.bulk_create(
        AlertDelivery(alert=alert, member=member)
        for alert, d in zip(alerts, fresh, strict=True)
        for member in d.recipients
        if (member.pk, d.kind) not in opted_out
    )
    ids = [delivery.pk for delivery in deliveries]
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


def notices(member: Member, *, limit: int = 10) -> list[AlertDelivery]:
    """The member's notices not dismissed yet, newest first."""
    return list(
        AlertDelivery.objects.filter(member=member, dismissed_at__isnull=True)
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
