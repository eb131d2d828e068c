"""Recording one usage record (SPEC R3, R5): validate, then allocate under the lock."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import MAX_BYTES, Household, Member
from core.errors import Refused
from core.problems import Problem
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Zone
from usage import alerts
from usage.models import UsageRecord
from usage.rules import (
    FUTURE_TOLERANCE,
    derive_ref,
    input_problem,
    record_problem,
    replay_problem,
)
from usage.services.allocation import Usage, allocate

__all__ = ["FUTURE_TOLERANCE", "check_against_accounts", "check_input", "record_usage"]

ZONES = tuple(Zone.values)


def refuse(problem: Problem | None) -> None:
    if problem is not None:
        raise Refused.of(problem)


def check_input(*, bytes: object, zone: object, ref: object) -> None:
    """SPEC R5, the checks that need no database."""
    refuse(input_problem(bytes=bytes, zone=zone, ref=ref, most=MAX_BYTES, zones=ZONES))


def check_against_accounts(
    household: Household, usage: Usage, *, now: datetime, last_closed
) -> None:
    """SPEC R5, the checks against the household's state (after the ref check)."""
    usage.period = household.period_of(usage.started_at)
    problem = record_problem(
        usage,
        household_id=household.id,
        slug=household.slug,
        start=household.first_period,
        last_closed=last_closed,
        now=now,
    )
    refuse(problem)


def record_usage(
    member: Member,
    *,
    bytes: int,
    zone: str = Zone.DOMESTIC,
    at: datetime | None = None,
    ref: str | None = None,
    now: datetime | None = None,
) -> UsageRecord:
    """Record ``bytes`` used by ``member`` at ``at`` (default now) and allocate them.

    SPEC R5 validation first (a ref already recorded with the same content returns that
    record, with ``replayed`` set), then R4.6 lazy closing, R1 opening and R3 allocation,
    all in one transaction under the household lock.
    """
    now = now or timezone.now()
    check_input(bytes=bytes, zone=zone, ref=ref)
    at = plan_services.as_aware(member.household, at or now, "started_at")
    ref = ref or derive_ref(username=member.username, started_at=at, bytes=bytes, zone=zone)
    usage = Usage(member=member, started_at=at, bytes=bytes, zone=zone, ref=ref)
    try:
        with transaction.atomic(durable=True):
            household = plan_services.lock_household(member.household)
            if replay := _replay(household, usage):
                return replay
            member.refresh_from_db(
                fields=["active", "household", "monthly_cap_bytes", "cap_action"]
            )
            check_against_accounts(
                household, usage, now=now, last_closed=plan_selectors.last_closed(household)
            )
            plan_services.require_plan(household)
            [recorded] = allocate({household: [usage]}, now=now)
            alerts.evaluate(household, now=now, periods=[household.period_of(at)])
            record = UsageRecord(**recorded._asdict())
            record._state.adding = False
    except IntegrityError:
        # Only possible if another writer slipped the same ref in: look it up again.
        if replay := _replay(member.household, usage):
            return replay
        raise
    record.replayed = False
    return record


def _replay(household: Household, usage: Usage) -> UsageRecord | None:
    """SPEC R5: a ref already recorded with the same content is a no-op; with other
    content it is refused."""
    found = UsageRecord.objects.filter(household=household, ref=usage.ref).first()
    if found is None:
        return None
    refuse(replay_problem(found, usage))
    found.replayed = True
    return found
