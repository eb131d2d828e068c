"""A member's choices about alerts: the kinds they turned off, the emails' language."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Member
from core.errors import Refused
from usage.models import Alert, AlertOptOut

Kind = Alert.Kind


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
