"""A demo household with a few months of true figures, for development."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Household
from core.periods import Period
from plans import services as plans
from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms
from usage.models import Alert, AlertDelivery, Allocation, UsageRecord
from usage.services import record_usage

GB = 10**9
MB = 10**6
SLUG = "demo"
PEOPLE = [
    # username, display name, role, cap, cap action, typical MB a day
    ("marie", "Marie", "owner", None, "notify", 1300),
    ("paul", "Paul", "member", None, "notify", 1000),
    ("lea", "Léa", "member", 15 * GB, "block", 550),
    ("hugo", "Hugo", "member", None, "notify", 450),
]


def remove_demo() -> bool:
    """Delete the demo household and everything in it (development only)."""
    household = Household.objects.filter(slug=SLUG).first()
    if household is None:
        return False
    with transaction.atomic():
        AlertDelivery.objects.filter(alert__household=household).delete()
        Alert.objects.filter(household=household).delete()
        Allocation.objects.filter(record__household=household).delete()
        LedgerEntry.objects.filter(household=household).delete()
        UsageRecord.objects.filter(household=household).delete()
        Bucket.objects.filter(household=household).delete()
        PeriodClose.objects.filter(household=household).delete()
        Terms.objects.filter(household=household).delete()
        Plan.objects.filter(household=household).delete()
        users = list(household.members.values_list("user_id", flat=True))
        household.members.all().delete()
        get_user_model().objects.filter(pk__in=users).delete()
        household.delete()
    return True


def build_demo(*, now: datetime | None = None, seed: int = 7) -> tuple[Household, list[tuple]]:
    """Create the demo household (owner and three members, a 100 GB plan with rollover,
    a roaming allowance, one add-on) with usage from three months back until now.
    Returns the household and the (username, password) logins."""
    now = now or timezone.now()
    rng = random.Random(seed)
    start = Period.parse(now.strftime("%Y-%m")).shift(-3)
    with transaction.atomic():
        household = accounts.create_household(
            slug=SLUG, name="Famille Demo", start_period=start.key, time_zone="Europe/Paris"
        )
        plan = plans.create_plan(
            household,
            name="Famille 100 Go",
            monthly_allowance_bytes=100 * GB,
            roaming_allowance_bytes=10 * GB,
            rollover=True,
            rollover_months=2,
            monthly_price="39.99",
        )
        plans.set_plan(household, plan, now=now)
        members = {}
        logins = []
        for username, name, role, cap, action, _ in PEOPLE:
            password = f"demo-{username}"
            members[username] = accounts.create_member(
                household,
                username=username,
                email=f"{username}@example.org",
                display_name=name,
                role=role,
                monthly_cap_bytes=cap,
                cap_action=action,
                password=password,
            )
            logins.append((username, password))
        owner = members["marie"].user
        owner.is_staff = owner.is_superuser = True
        owner.save(update_fields=["is_staff", "is_superuser"])

    # Usage from the start period until now, in time order, as a carrier would send it.
    day = household.calendar.start(start) + timedelta(hours=9)
    roaming_from = household.calendar.start(start.next()) + timedelta(days=10)
    while day < now:
        for username, _, _, _, _, daily_mb in PEOPLE:
            amount = int(rng.uniform(0.4, 1.6) * daily_mb * MB)
            at = day + timedelta(minutes=rng.randrange(0, 12 * 60))
            if at >= now:
                continue
            zone = (
                "roaming" if roaming_from <= at < roaming_from + timedelta(days=7) else "domestic"
            )
            record_usage(members[username], bytes=amount, zone=zone, at=at, now=at)
        day += timedelta(days=1)
    plans.grant(household, kind="addon", zone="domestic", bytes=5 * GB, note="Demo add-on", now=now)
    plans.close_periods(household=household, now=now)
    return household, logins
