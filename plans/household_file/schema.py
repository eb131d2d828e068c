"""The household file's schema (SPEC §3, docs/accounting.md "Household file").

Strict pydantic models: integers are JSON integers, booleans ``true``/``false``,
unknown keys refused. Pydantic's errors become the file's problems, each
``path: reason (value)`` with its JSON path (``members[2].role``); the reason of a
field's type or range error is the one its ``Reason`` says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic import ValidationError as SchemaError
from pydantic_core import PydanticCustomError

from accounts.models import MAX_BYTES, Household, Member, period_key_validator, validate_time_zone
from plans.household_file.problems import HouseholdFileRefused, problems_of, show
from plans.models import (
    Plan,
    RoamingMode,
    RolloverOnPlanChange,
    WhenPoolIsEmpty,
)
from plans.rules import fair_use_problem, order_as_list, order_problem, stored_order


@dataclass(frozen=True)
class Reason:
    """The one reason given for any type or range error of a field."""

    text: str


def _refuse(reason: str):
    return PydanticCustomError("datapool", reason)


def _refuse_problem(problem, known: str = ""):
    """A rule's ``Problem`` as a pydantic error. ``known`` is the part of the problem's
    field already in the error's location (a field validator's own name); the rest
    (``[2]``, or a field's name for a model validator) goes in ``at``."""
    rest = problem.field.removeprefix(known)
    at = tuple(int(part) if part.isdigit() else part for part in re.findall(r"\w+", rest))
    return PydanticCustomError("datapool", problem.reason, {"at": at, "value": problem.value})


def _consumption_order(value):
    """SPEC R7: a named order or a list of the four kinds, in its one stored form."""
    if problem := order_problem("consumption_order", value):
        raise _refuse_problem(problem, known="consumption_order")
    return stored_order(order_as_list(value))


def _not_blank(value):
    if isinstance(value, str) and not value.strip():
        raise _refuse("must not be empty")
    return value


def _django(validator):
    """A Django validator as a pydantic one (an empty value is not validated)."""

    def check(value: str) -> str:
        if value:
            try:
                validator(value)
            except ValidationError as error:
                raise _refuse(error.messages[0].rstrip(".")) from None
        return value

    return AfterValidator(check)


def _username(value: str) -> str:
    user_model = get_user_model()
    max_length = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
    if len(value) > max_length:
        raise _refuse(f"must be at most {max_length} characters")
    return _django(user_model.username_validator).func(value)


def _price(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse("must be a number or null")
    try:
        Plan._meta.get_field("monthly_price").run_validators(Decimal(str(value)))
    except (ValidationError, InvalidOperation):
        raise _refuse("must be from 0 to 999999.99 with at most 2 decimals") from None
    return value


def _text(max_length: int, *validators):
    return Annotated[str, Field(max_length=max_length), *validators]


def _required_text(max_length: int, *validators):
    return Annotated[str, BeforeValidator(_not_blank), Field(max_length=max_length), *validators]


def _integer(minimum: int, maximum: int, what: str = "an integer"):
    top = "10^13" if maximum == MAX_BYTES else str(maximum)
    reason = Reason(f"must be {what} from {minimum} to {top}")
    return Annotated[int, Field(ge=minimum, le=maximum), reason]


def _choice(choices):
    return Annotated[Literal[tuple(choices)], Reason("must be one of " + ", ".join(choices))]


Bytes = _integer(0, MAX_BYTES, "a whole number of bytes")
BytesOrNull = Annotated[
    Annotated[int, Field(ge=0, le=MAX_BYTES)] | None,
    Reason("must be a whole number of bytes from 0 to 10^13 or null"),
]
Boolean = Annotated[bool, Reason("must be true or false")]
Price = Annotated[object, BeforeValidator(_price)]


def _default(model, name: str):
    return model._meta.get_field(name).get_default()


class Part(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class HouseholdPart(Part):
    slug: _required_text(50, _django(validate_slug))
    name: _required_text(200)
    time_zone: _required_text(64, _django(validate_time_zone)) = _default(Household, "time_zone")
    cycle_day: _integer(1, 28) = _default(Household, "cycle_day")
    # Required for a new household only (checked against the database): None when absent.
    start_period: _required_text(7, _django(period_key_validator)) = None


class PlanPart(Part):
    name: _required_text(200)
    # Required although null is allowed: null means unlimited data, which a file should
    # say rather than imply.
    monthly_allowance_bytes: BytesOrNull
    roaming_allowance_bytes: Bytes = _default(Plan, "roaming_allowance_bytes")
    rollover: Boolean = _default(Plan, "rollover")
    rollover_months: _integer(1, 120) = _default(Plan, "rollover_months")
    rollover_cap_bytes: BytesOrNull = _default(Plan, "rollover_cap_bytes")
    consumption_order: Annotated[str, BeforeValidator(_consumption_order)] = _default(
        Plan, "consumption_order"
    )
    rollover_bank_cap_bytes: BytesOrNull = _default(Plan, "rollover_bank_cap_bytes")
    rollover_on_plan_change: _choice(RolloverOnPlanChange.values) = _default(
        Plan, "rollover_on_plan_change"
    )
    roaming_mode: _choice(RoamingMode.values) = _default(Plan, "roaming_mode")
    roaming_fair_use_bytes: BytesOrNull = _default(Plan, "roaming_fair_use_bytes")
    when_pool_is_empty: _choice(WhenPoolIsEmpty.values) = _default(Plan, "when_pool_is_empty")
    monthly_price: Price = _default(Plan, "monthly_price")

    @model_validator(mode="after")
    def _fair_use_with_its_mode(self):
        if problem := fair_use_problem(self.roaming_mode, self.roaming_fair_use_bytes):
            raise _refuse_problem(problem)
        return self

    def values(self) -> dict:
        """The plan's fields as the model stores them (the price as a ``Decimal``)."""
        values = {name: getattr(self, name) for name in (*Plan.TERM_FIELDS, "monthly_price")}
        if values["monthly_price"] is not None:
            values["monthly_price"] = Decimal(str(values["monthly_price"]))
        return values


class MemberPart(Part):
    username: Annotated[str, BeforeValidator(_not_blank), AfterValidator(_username)]
    display_name: _text(150) = _default(Member, "display_name")
    email: _text(254, _django(validate_email)) = ""
    role: _choice(Member.Role.values) = _default(Member, "role")
    monthly_cap_bytes: BytesOrNull = _default(Member, "monthly_cap_bytes")
    cap_action: _choice(Member.CapAction.values) = _default(Member, "cap_action")
    active: Boolean = _default(Member, "active")

    def fields(self) -> dict:
        """The membership's fields (the email is the user's)."""
        names = ("display_name", "role", "monthly_cap_bytes", "cap_action", "active")
        return {name: getattr(self, name) for name in names}


class HouseholdFile(Part):
    """The file, checked, defaults filled in. ``plan`` is None when the file has no
    plan part (the plan is then left as it is); ``household.start_period`` is None when
    absent."""

    household: HouseholdPart
    plan: PlanPart = None
    members: list[MemberPart] = Field(default_factory=list)


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


def check_household_file(data: object) -> HouseholdFile:
    """Everything that can be checked without the database; all problems at once."""
    if not isinstance(data, dict):
        raise HouseholdFileRefused([f"file: must be a JSON object ({show(data)})"])
    try:
        checked = HouseholdFile.model_validate(data)
        errors = []
    except SchemaError as error:
        checked, errors = None, error.errors()
    parts = {"household": HouseholdPart, "plan": PlanPart, "members": MemberPart}
    problems = problems_of(parts, errors, data)
    if problems:
        raise HouseholdFileRefused(problems)
    return checked
