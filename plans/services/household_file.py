"""Applying the household file (SPEC §3 ``import_household``): one household, its plan
and its members, through the account and plan services, in one transaction."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Household, Member
from core.errors import Refused
from plans import selectors
from plans.household_file.problems import HouseholdFileRefused, show
from plans.household_file.report import HouseholdImportReport
from plans.household_file.schema import HouseholdFile, MemberPart, PlanPart, check_household_file
from plans.models import Plan
from plans.services.calendar import CALENDAR_FIELDS, FIXED, calendar_changes, change_calendar
from plans.services.locks import lock_household
from plans.services.terms import create_plan, set_plan, update_plan


def import_household(data: object, *, now: datetime | None = None) -> HouseholdImportReport:
    """SPEC §3 household file: create or update a household, its plan and its members,
    all in one transaction or nothing. Idempotent: a second run with the same file
    changes nothing.

    Missing optional keys take the defaults of SPEC §1, for an existing household too
    (the file says what the household is); ``start_period`` is required for a new
    household and kept when absent. The plan part's terms apply from the next period,
    or from the start period while the household has no activity (``set_plan``).
    Members missing from the file are left as they are; exactly one active owner must
    result. Raises ``HouseholdFileRefused`` listing every problem by its JSON path.
    """
    now = now or timezone.now()
    spec = check_household_file(data)
    with transaction.atomic(durable=True):
        return _apply(spec, now)


def _apply(spec: HouseholdFile, now: datetime) -> HouseholdImportReport:
    wanted = spec.household
    report = HouseholdImportReport(slug=wanted.slug)
    household = Household.objects.filter(slug=wanted.slug).first()
    existing = {}
    if household is not None:
        household = lock_household(household)
        existing = {
            m.user.username: m
            for m in Member.objects.filter(household=household).select_related("user")
        }
    usernames = [m.username for m in spec.members]
    others = set(
        Member.objects.filter(user__username__in=usernames)
        .exclude(household=household)
        .values_list("user__username", flat=True)
    )
    users = {u.username: u for u in get_user_model().objects.filter(username__in=usernames)}
    calendar = _calendar_changes(household, wanted)
    _refuse_conflicts(spec, household, existing, others, calendar)

    household = _refusing_at("household", _write_household, household, wanted, calendar, report)
    if spec.plan is not None:
        _refusing_at("plan", _write_plan, household, spec.plan, now, report)
    _write_members(household, spec.members, existing, users, report)
    return report


def _refusing_at(path: str, write, *args):
    """``write(*args)``, a refusal of the services reported at ``path`` of the file."""
    try:
        return write(*args)
    except Refused as error:
        raise HouseholdFileRefused(
            [f"{path}.{error.field}: {error.reason} ({show(error.value)})"]
        ) from None


def _calendar_changes(household: Household | None, wanted) -> dict:
    if household is None:
        return {}
    return calendar_changes(household, {name: getattr(wanted, name) for name in CALENDAR_FIELDS})


def _refuse_conflicts(spec: HouseholdFile, household, existing, others, calendar) -> None:
    """The checks against the database, before anything is written."""
    problems = []
    if household is None and spec.household.start_period is None:
        problems.append("household.start_period: is required for a new household")
    if calendar and household.calendar_fixed:
        problems += [f"household.{name}: {FIXED} ({show(v)})" for name, v in calendar.items()]
    for index, member in enumerate(spec.members):
        if member.username in others:
            problems.append(
                f"members[{index}].username: belongs to another household ({show(member.username)})"
            )
    problems += _owner_problems(spec.members, existing)
    if problems:
        raise HouseholdFileRefused(problems)


def _owner_problems(members: list[MemberPart], existing: dict) -> list[str]:
    """Exactly one active owner: members left out of the file keep their role."""
    result = {name: (m.role, m.active) for name, m in existing.items()}
    result.update({m.username: (m.role, m.active) for m in members})
    owners = sorted(name for name, (role, active) in result.items() if role == "owner" and active)
    if len(owners) == 1:
        return []
    return [
        "members: the household must have exactly one active owner, it would have "
        f"{len(owners)} ({', '.join(owners) or 'none'})"
    ]


def _write_household(household, wanted, calendar: dict, report) -> Household:
    if household is None:
        report.household = "created"
        return account_services.create_household(
            slug=wanted.slug,
            name=wanted.name,
            start_period=wanted.start_period,
            time_zone=wanted.time_zone,
            cycle_day=wanted.cycle_day,
        )
    if household.name != wanted.name:
        account_services.update_household(household, name=wanted.name)
        report.household_changes.append("name")
    if calendar:
        household = change_calendar(household, **calendar)
        report.household_changes += list(calendar)
    if report.household_changes:
        report.household = "updated"
    return household


def _write_plan(household: Household, wanted: PlanPart, now: datetime, report) -> None:
    report.plan = wanted.name
    values = wanted.values()
    before = selectors.latest_terms(household)
    plan = Plan.objects.filter(household=household, name=wanted.name).order_by("pk").first()
    if plan is None:
        plan = create_plan(household, name=wanted.name, **values)
        report.plan_state = "created"
    else:
        changes = {name: v for name, v in values.items() if getattr(plan, name) != v}
        if changes:
            report.plan_state = "updated"
            report.plan_changes = list(changes)
            # A price change alone writes no terms: update_plan sets them only when a
            # term changed.
            plan = update_plan(plan, now=now, **changes)
    latest = selectors.latest_terms(household)
    if latest is None or latest.plan_id != plan.pk or latest.term_values() != plan.term_values():
        latest = set_plan(household, plan, now=now)
    if before is None or (before.pk, before.plan_id, before.term_values()) != (
        latest.pk,
        latest.plan_id,
        latest.term_values(),
    ):
        report.terms_from = latest.period


def _write_members(household, members: list[MemberPart], existing, users, report) -> None:
    # Demotions first, so that the one-active-owner constraint holds after every write.
    def loses_ownership(member: MemberPart) -> bool:
        current = existing.get(member.username)
        return (
            current is not None
            and current.role == "owner"
            and current.active
            and not (member.role == "owner" and member.active)
        )

    for member in members:
        report.members[member.username] = "unchanged"
    order = sorted(enumerate(members), key=lambda pair: not loses_ownership(pair[1]))
    for index, member in order:
        username = member.username
        if username in existing:
            changes = _refusing_at(f"members[{index}]", _update_member, existing[username], member)
            if changes:
                report.members[username] = "updated"
                report.member_changes[username] = changes
        else:
            report.members[username] = "created"
            report.member_changes[username] = _refusing_at(
                f"members[{index}]", _create_member, household, member, users.get(username)
            )


def _update_member(current: Member, member: MemberPart) -> list[str]:
    changes = {name: v for name, v in member.fields().items() if getattr(current, name) != v}
    names = list(changes)
    if current.user.email != member.email:
        names.append("email")
    if names:
        account_services.update_member(current, email=member.email, **changes)
    return names


def _create_member(household: Household, member: MemberPart, user) -> list[str]:
    if user is None:
        account_services.create_member(
            household, username=member.username, email=member.email, **member.fields()
        )
        return ["no usable password until the owner sets one"]
    # A user in no household yet (say, the admin's own account) joins this one and
    # keeps its password.
    account_services.add_member(household, user, email=member.email, **member.fields())
    return ["existing user, password kept"]
