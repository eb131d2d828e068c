"""Notices: the alerts a member's dashboard shows until they dismiss them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Member
from usage.models import AlertDelivery

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


def dismiss(member: Member, delivery_id: int) -> bool:
    """Hide one notice from the member's dashboard."""
    return bool(
        AlertDelivery.objects.filter(
            pk=delivery_id, member=member, dismissed_at__isnull=True
        ).update(dismissed_at=timezone.now())
    )
