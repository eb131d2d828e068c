"""Factories for tests. Objects that move bytes are made through the services."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from accounts.models import Household, Member
from plans import services as plan_services
from plans.models import Plan

GB = 10**9
MB = 10**6


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    slug = factory.Sequence(lambda n: f"family-{n}")
    name = factory.LazyAttribute(lambda h: f"Family {h.slug}")
    time_zone = "Europe/Paris"
    cycle_day = 1
    start_period = "2026-01"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    household = factory.SubFactory(HouseholdFactory)
    display_name = factory.LazyAttribute(lambda m: m.user.username.title())
    role = Member.Role.MEMBER


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    household = factory.SubFactory(HouseholdFactory)
    name = "Family 10 GB"
    monthly_allowance_bytes = 10 * GB
    roaming_allowance_bytes = 0
    rollover = False
    rollover_months = 1
    rollover_cap_bytes = None
    consumption_order = "rollover_first"


def household_with_plan(**terms) -> Household:
    """A household (start period 2026-01, Europe/Paris unless given) whose plan has
    ``terms`` in force from its start period."""
    household_fields = {
        key: terms.pop(key)
        for key in ("slug", "time_zone", "cycle_day", "start_period")
        if key in terms
    }
    household = HouseholdFactory(**household_fields)
    plan = PlanFactory(household=household, **terms)
    plan_services.set_plan(household, plan)
    return household
