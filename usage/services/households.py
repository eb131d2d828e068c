"""The household file (SPEC §3 ``import_household``) and calendar changes (SPEC §1).

It lives in ``usage`` because whether a household's calendar may still change depends
on its usage records, and ``usage`` is the one app allowed to look at them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import MAX_BYTES, Household, Member, period_key_validator, validate_time_zone
from core.errors import Refused
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.models import Bucket, ConsumptionOrder, LedgerEntry, PeriodClose, Plan, Terms
from usage.models import UsageRecord

CALENDAR_FIELDS = ("time_zone", "cycle_day", "start_period")


# --- SPEC §1: the calendar is fixed once bytes moved -------------------------------------


def calendar_is_fixed(household: Household) -> bool:
    """Usage, an add-on, a bonus, a rollover or a close pin the household's calendar."""
    return (
        UsageRecord.objects.filter(household=household).exists()
        or Bucket.objects.filter(household=household).exclude(kind=Bucket.Kind.ALLOWANCE).exists()
        or PeriodClose.objects.filter(household=household).exists()
    )


def change_calendar(
    household: Household,
    *,
    time_zone: str | None = None,
    cycle_day: int | None = None,
    start_period: str | None = None,
) -> Household:
    """SPEC §1: change a household's time zone, cycle day or start period, refused once
    it has usage or grants. Returns the household as saved.

    Periods opened so far (by a status read) hold nothing but untouched allowances: they
    are removed with their grant entries and open again on the new calendar, and the
    terms collapse into the latest ones, in force from the (new) start period, as for a
    household without activity.
    """
    requested = {
        name: value
        for name, value in zip(CALENDAR_FIELDS, (time_zone, cycle_day, start_period), strict=True)
        if value is not None
    }
    if "cycle_day" in requested and (isinstance(cycle_day, bool) or not isinstance(cycle_day, int)):
        raise Refused("cycle_day", "must be an integer from 1 to 28", cycle_day)
    with transaction.atomic():
        locked = plan_services.lock_household(household)
        changes = {name: v for name, v in requested.items() if getattr(locked, name) != v}
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            locked.full_clean(
                exclude=[f.name for f in Household._meta.fields if f.name not in changes]
            )
        except ValidationError as error:
            name, messages = next(iter(error.message_dict.items()))
            raise Refused(name, messages[0], changes.get(name)) from error
        if calendar_is_fixed(locked):
            name, value = next(iter(changes.items()))
            raise Refused(name, "cannot change once the household has usage or grants", value)
        _reopen(locked)
        locked.save(update_fields=[*changes, "opened_through"])
    for name, value in changes.items():
        setattr(household, name, value)
    household.opened_through = locked.opened_through
    household.__dict__.pop("calendar", None)  # a cached_property built on the old values
    return locked


def _reopen(household: Household) -> None:
    """Forget the opened periods (untouched allowances only: the caller checked) and put
    the latest terms in force from the start period. The household is locked."""
    allowances = Bucket.objects.filter(household=household, kind=Bucket.Kind.ALLOWANCE)
    LedgerEntry.objects.filter(bucket__in=allowances).delete()
    allowances.delete()
    household.opened_through = ""
    latest = plan_selectors.latest_terms(household)
    if latest is not None:
        Terms.objects.filter(household=household).exclude(pk=latest.pk).delete()
        if latest.period != household.start_period:
            latest.period = household.start_period
            latest.save(update_fields=["period"])


# --- reading and checking the file -------------------------------------------------------


class HouseholdFileRefused(Exception):
    """The household file has problems: nothing was changed. ``problems`` lists each of
    them as ``path: reason (value)``, the path in JSON terms (``members[2].role``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing changed")
        self.problems = problems


def show(value: object) -> str:
    """A value as the file wrote it, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def read_household_file(text: str) -> object:
    """Parse the file's JSON. Refuses invalid JSON (with line and column), a key repeated
    in one object, and NaN or Infinity, which are not JSON."""

    def no_repeats(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise HouseholdFileRefused([f"file: key repeated in one object ({show(key)})"])
            seen[key] = value
        return seen

    def no_constant(name):
        raise HouseholdFileRefused([f"file: not a JSON number ({name})"])

    try:
        return json.loads(text, object_pairs_hook=no_repeats, parse_constant=no_constant)
    except json.JSONDecodeError as error:
        raise HouseholdFileRefused(
            [f"file: is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"]
        ) from None


# A check returns the reason a value is wrong, or None.
Check = Callable[[object], str | None]


def _integer(minimum: int, maximum: int, *, nullable: bool = False, what: str = "") -> Check:
    top = "10^13" if maximum == MAX_BYTES else str(maximum)
    if what:
        reason = f"must be {what} from {minimum} to {top}"
    else:
        reason = f"must be an integer from {minimum} to {top}"
    reason += " or null" if nullable else ""

    def check(value):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            return reason
        return None

    return check


_BYTES = _integer(0, MAX_BYTES, what="a whole number of bytes")
_BYTES_OR_NULL = _integer(0, MAX_BYTES, nullable=True, what="a whole number of bytes")


def _text(max_length: int, *, blank: bool = True, validator=None) -> Check:
    def check(value):
        if not isinstance(value, str):
            return "must be a string"
        if not blank and not value.strip():
            return "must not be empty"
        if len(value) > max_length:
            return f"must be at most {max_length} characters"
        if validator is not None and value:
            try:
                validator(value)
            except ValidationError as error:
                return error.messages[0].rstrip(".")
        return None

    return check


def _choice(choices: list[str]) -> Check:
    def check(value):
        if not isinstance(value, str) or value not in choices:
            return "must be one of " + ", ".join(choices)
        return None

    return check


def _boolean(value) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _price(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number or null"
    amount = Decimal(str(value))
    try:
        Plan._meta.get_field("monthly_price").run_validators(amount)
    except (ValidationError, InvalidOperation):
        return "must be from 0 to 999999.99 with at most 2 decimals"
    return None


def _username(value) -> str | None:
    user_model = get_user_model()
    max_length = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
    return _text(max_length, blank=False, validator=user_model.username_validator)(value)


@dataclass(frozen=True)
class Section:
    """One object of the file: a check per key, the required keys, and the defaults of
    the optional ones (SPEC §1's defaults, which are the models'). A key that is neither
    required nor defaulted may be absent (``start_period``: required for a new household
    only, checked against the database)."""

    checks: dict[str, Check]
    required: frozenset[str]
    defaults: dict[str, Callable[[], object]]


def _model_default(model, name: str) -> Callable[[], object]:
    return lambda: model._meta.get_field(name).get_default()


HOUSEHOLD = Section(
    checks={
        "slug": _text(50, blank=False, validator=validate_slug),
        "name": _text(200, blank=False),
        "time_zone": _text(64, blank=False, validator=validate_time_zone),
        "cycle_day": _integer(1, 28),
        "start_period": _text(7, blank=False, validator=period_key_validator),
    },
    required=frozenset({"slug", "name"}),
    defaults={name: _model_default(Household, name) for name in ("time_zone", "cycle_day")},
)
PLAN = Section(
    checks={
        "name": _text(200, blank=False),
        "monthly_allowance_bytes": _BYTES_OR_NULL,
        "roaming_allowance_bytes": _BYTES,
        "rollover": _boolean,
        "rollover_months": _integer(1, 120),
        "rollover_cap_bytes": _BYTES_OR_NULL,
        "consumption_order": _choice(list(ConsumptionOrder.values)),
        "monthly_price": _price,
    },
    # The allowance is required although null is allowed: null means unlimited data,
    # which a file should say rather than imply.
    required=frozenset({"name", "monthly_allowance_bytes"}),
    defaults={
        name: _model_default(Plan, name)
        for name in (*Plan.TERM_FIELDS, "monthly_price")
        if name != "monthly_allowance_bytes"
    },
)
MEMBER = Section(
    checks={
        "username": _username,
        "display_name": _text(150),
        "email": _text(254, validator=validate_email),
        "role": _choice(list(Member.Role.values)),
        "monthly_cap_bytes": _BYTES_OR_NULL,
        "cap_action": _choice(list(Member.CapAction.values)),
        "active": _boolean,
    },
    required=frozenset({"username"}),
    defaults={
        "email": lambda: get_user_model()._meta.get_field("email").get_default(),
        **{
            name: _model_default(Member, name)
            for name in ("display_name", "role", "monthly_cap_bytes", "cap_action", "active")
        },
    },
)
TOP_KEYS = ("household", "plan", "members")


def _read_object(value, path: str, section: Section, problems: list[str]) -> dict | None:
    """One JSON object of the file: known keys of the right type, defaults filled in."""
    if not isinstance(value, dict):
        problems.append(f"{path}: must be a JSON object ({show(value)})")
        return None
    problems += [f"{path}.{key}: unknown key" for key in value if key not in section.checks]
    out = {}
    for name, check in section.checks.items():
        if name not in value:
            if name in section.required:
                problems.append(f"{path}.{name}: is required")
            elif name in section.defaults:
                out[name] = section.defaults[name]()
            continue
        reason = check(value[name])
        if reason:
            problems.append(f"{path}.{name}: {reason} ({show(value[name])})")
        else:
            out[name] = value[name]
    return out


@dataclass
class HouseholdFile:
    """The file, checked: every key present (defaults filled in) but ``start_period``,
    which may be absent for an existing household; ``plan`` is None when absent."""

    household: dict
    plan: dict | None
    members: list[dict]


def check_household_file(data: object) -> HouseholdFile:
    """Everything that can be checked without the database; all problems at once."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise HouseholdFileRefused([f"file: must be a JSON object ({show(data)})"])
    problems += [f"{key}: unknown key" for key in data if key not in TOP_KEYS]
    household = None
    if "household" in data:
        household = _read_object(data["household"], "household", HOUSEHOLD, problems)
    else:
        problems.append("household: is required")
    # No plan part: the plan is left as it is (a new household then has none yet).
    plan = _read_object(data["plan"], "plan", PLAN, problems) if "plan" in data else None
    members = []
    raw_members = data.get("members", [])
    if not isinstance(raw_members, list):
        problems.append(f"members: must be a JSON array ({show(raw_members)})")
        raw_members = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(raw_members):
        path = f"members[{index}]"
        member = _read_object(raw, path, MEMBER, problems)
        if member is None or "username" not in member:
            continue
        username = member["username"]
        if username in first_seen:
            problems.append(
                f"{path}.username: appears twice in the file, "
                f"also at members[{first_seen[username]}] ({show(username)})"
            )
            continue
        first_seen[username] = index
        member["index"] = index
        members.append(member)
    if problems:
        raise HouseholdFileRefused(problems)
    return HouseholdFile(household=household, plan=plan, members=members)


# --- applying it ---------------------------------------------------------------------------


MEMBER_FIELDS = ("display_name", "role", "monthly_cap_bytes", "cap_action", "active")
PLAN_FIELDS = (*Plan.TERM_FIELDS, "monthly_price")


@dataclass
class HouseholdImportReport:
    """What an import did. Each state is ``created``, ``updated`` or ``unchanged``."""

    slug: str
    household: str = "unchanged"
    household_changes: list[str] = field(default_factory=list)
    plan: str = ""  # the plan's name; empty when the file has no plan part
    plan_state: str = "unchanged"
    plan_changes: list[str] = field(default_factory=list)
    terms_from: str | None = None  # the period from which new terms apply, if any
    members: dict[str, str] = field(default_factory=dict)  # username -> state, file order
    member_changes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(
            self.household != "unchanged"
            or (self.plan and self.plan_state != "unchanged")
            or self.terms_from
            or any(state != "unchanged" for state in self.members.values())
        )

    def count(self, state: str) -> int:
        return sum(1 for s in self.members.values() if s == state)

    def lines(self) -> list[str]:
        """One line per change."""
        out = []
        if self.household != "unchanged":
            out.append(f"household {self.slug}: {self.household}{_listed(self.household_changes)}")
        if self.plan and self.plan_state != "unchanged":
            out.append(f"plan {self.plan}: {self.plan_state}{_listed(self.plan_changes)}")
        if self.terms_from:
            out.append(f"plan {self.plan}: its terms apply from period {self.terms_from}")
        for username, state in self.members.items():
            if state == "created":
                out.append(f"member {username}: created{_listed(self.member_changes[username])}")
            elif state == "updated":
                out.append(f"member {username}: updated{_listed(self.member_changes[username])}")
        return out

    def summary(self) -> str:
        plan = f"plan {self.plan_state}" if self.plan else "no plan part"
        return (
            f"{self.slug}: household {self.household}, {plan}, members: "
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged"
        )


def _listed(changes: list[str]) -> str:
    return f" ({', '.join(changes)})" if changes else ""


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
    report = HouseholdImportReport(slug=wanted["slug"])
    household = Household.objects.filter(slug=wanted["slug"]).first()
    if household is not None:
        household = plan_services.lock_household(household)
    existing = {}
    if household is not None:
        existing = {
            m.user.username: m
            for m in Member.objects.filter(household=household).select_related("user")
        }
    usernames = [m["username"] for m in spec.members]
    others = {
        m.user.username: m
        for m in Member.objects.filter(user__username__in=usernames)
        .exclude(household=household)
        .select_related("user", "household")
    }
    users = {u.username: u for u in get_user_model().objects.filter(username__in=usernames)}
    calendar = _calendar_changes(household, wanted)
    _refuse_conflicts(spec, household, existing, others, calendar)

    try:
        household = _write_household(household, wanted, calendar, report)
    except Refused as error:
        raise HouseholdFileRefused([_at("household", error)]) from None
    if spec.plan is not None:
        try:
            _write_plan(household, spec.plan, now, report)
        except Refused as error:
            raise HouseholdFileRefused([_at("plan", error)]) from None
    _write_members(household, spec.members, existing, users, report)
    return report


def _at(path: str, error: Refused) -> str:
    return f"{path}.{error.field}: {error.reason} ({show(error.value)})"


def _calendar_changes(household: Household | None, wanted: dict) -> dict:
    if household is None:
        return {}
    return {
        name: wanted[name]
        for name in CALENDAR_FIELDS
        if name in wanted and getattr(household, name) != wanted[name]
    }


def _refuse_conflicts(spec, household, existing, others, calendar) -> None:
    """The checks against the database, before anything is written."""
    problems = []
    if household is None and "start_period" not in spec.household:
        problems.append("household.start_period: is required for a new household")
    if calendar and calendar_is_fixed(household):
        problems += [
            f"household.{name}: cannot change once the household has usage or grants "
            f"({show(value)})"
            for name, value in calendar.items()
        ]
    for member in spec.members:
        if member["username"] in others:
            problems.append(
                f"members[{member['index']}].username: belongs to another household "
                f"({show(member['username'])})"
            )
    # Exactly one active owner: members left out of the file keep their role.
    result = {name: (m.role, m.active) for name, m in existing.items()}
    result.update({m["username"]: (m["role"], m["active"]) for m in spec.members})
    owners = sorted(name for name, (role, active) in result.items() if role == "owner" and active)
    if len(owners) != 1:
        problems.append(
            "members: the household must have exactly one active owner, it would have "
            f"{len(owners)} ({', '.join(owners) or 'none'})"
        )
    if problems:
        raise HouseholdFileRefused(problems)


def _write_household(household, wanted: dict, calendar: dict, report) -> Household:
    if household is None:
        report.household = "created"
        return account_services.create_household(
            slug=wanted["slug"],
            name=wanted["name"],
            start_period=wanted["start_period"],
            time_zone=wanted["time_zone"],
            cycle_day=wanted["cycle_day"],
        )
    if household.name != wanted["name"]:
        household.name = wanted["name"]
        household.save(update_fields=["name"])
        report.household_changes.append("name")
    if calendar:
        household = change_calendar(household, **calendar)
        report.household_changes += list(calendar)
    if report.household_changes:
        report.household = "updated"
    return household


def _write_plan(household: Household, wanted: dict, now: datetime, report) -> None:
    report.plan = wanted["name"]
    values = {name: wanted[name] for name in PLAN_FIELDS}
    if values["monthly_price"] is not None:
        values["monthly_price"] = Decimal(str(values["monthly_price"]))
    before = plan_selectors.latest_terms(household)
    plan = Plan.objects.filter(household=household, name=wanted["name"]).order_by("pk").first()
    if plan is None:
        plan = plan_services.create_plan(household, name=wanted["name"], **values)
        report.plan_state = "created"
    else:
        changes = {name: v for name, v in values.items() if getattr(plan, name) != v}
        if changes:
            report.plan_state = "updated"
            report.plan_changes = list(changes)
        if set(changes) & set(Plan.TERM_FIELDS):
            plan = plan_services.update_plan(plan, now=now, **changes)
        elif changes:
            # The price alone is no term: no new terms row for it.
            plan.monthly_price = changes["monthly_price"]
            plan.full_clean(exclude=["household"])
            plan.save(update_fields=["monthly_price"])
    latest = plan_selectors.latest_terms(household)
    if latest is None or latest.plan_id != plan.pk or latest.term_values() != plan.term_values():
        latest = plan_services.set_plan(household, plan, now=now)
    if before is None or (before.pk, before.plan_id, before.term_values()) != (
        latest.pk,
        latest.plan_id,
        latest.term_values(),
    ):
        report.terms_from = latest.period


def _write_members(household, members: list[dict], existing: dict, users: dict, report) -> None:
    # Demotions first, so that the one-active-owner constraint holds after every write.
    def loses_ownership(member: dict) -> bool:
        current = existing.get(member["username"])
        return (
            current is not None
            and current.role == "owner"
            and current.active
            and not (member["role"] == "owner" and member["active"])
        )

    for username in (m["username"] for m in members):
        report.members[username] = "unchanged"
    for member in sorted(members, key=lambda m: not loses_ownership(m)):
        username = member["username"]
        try:
            if username in existing:
                changes = _update_member(existing[username], member)
                if changes:
                    report.members[username] = "updated"
                    report.member_changes[username] = changes
            else:
                report.members[username] = "created"
                report.member_changes[username] = _create_member(
                    household, member, users.get(username)
                )
        except Refused as error:
            raise HouseholdFileRefused([_at(f"members[{member['index']}]", error)]) from None


def _update_member(current: Member, member: dict) -> list[str]:
    changes = {
        name: member[name] for name in MEMBER_FIELDS if getattr(current, name) != member[name]
    }
    if changes:
        account_services.update_member(current, **changes)
    names = list(changes)
    if current.user.email != member["email"]:
        current.user.email = member["email"]
        current.user.save(update_fields=["email"])
        names.append("email")
    return names


def _create_member(household: Household, member: dict, user) -> list[str]:
    fields = {name: member[name] for name in MEMBER_FIELDS}
    if user is None:
        account_services.create_member(
            household, username=member["username"], email=member["email"], **fields
        )
        return ["no usable password until the owner sets one"]
    # A user in no household yet (say, the admin's own account) joins this one and
    # keeps its password.
    new = Member(user=user, household=household, **fields)
    try:
        new.full_clean(exclude=["user"])
    except ValidationError as error:
        name, messages = next(iter(error.message_dict.items()))
        raise Refused(name, messages[0], getattr(new, name, None)) from error
    new.save()
    if user.email != member["email"]:
        user.email = member["email"]
        user.save(update_fields=["email"])
    return ["existing user, password kept"]
