"""Delivery: alert emails, sent after the commit that recorded the alert and retried by
``send_alerts``. A failed email is logged and never undoes the usage that caused it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from usage.models import AlertDelivery
from usage.selectors.terms import pool_empty_words, uncovered_parts

logger = logging.getLogger("usage.alerts")  # one logger for the whole package


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
    """One email, in the member's language and the household's time zone: the kind's own
    message (``emails/alerts/<kind>.txt``) inside the greeting and the link."""
    member, alert = delivery.member, delivery.alert
    figures = alert.figures
    language = member.language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(alert.household.calendar.zone):
        context = {
            "alert": alert,
            "member": member,
            "household": alert.household,
            "link": settings.SITE_URL + reverse("usage:dashboard"),
            "figures": figures,
            # R12: what the bytes beyond the pool are, as the period's terms say.
            "uncovered_words": pool_empty_words(figures.get("when_pool_is_empty")),
            "uncovered": uncovered_parts(
                overage=figures.get("overage_bytes") or 0,
                capped=figures.get("capped_bytes") or 0,
                beyond_fair_use=figures.get("beyond_fair_use_bytes") or 0,
                when_pool_is_empty=figures.get("when_pool_is_empty"),
            ),
        }
        subject = render_to_string("emails/alert_subject.txt", context).strip()
        body = render_to_string(f"emails/alerts/{alert.kind}.txt", context)
    send_mail(subject, body, None, [member.user.email])
