"""Writes for households and members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.errors import Refused
from accounts.models import MAX_BYTES, Household, Member


def _clean(instance, *, exclude: list[str] | None = None) -> None:
    """Run model validation and re-raise the first problem as ``Refused``."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        if field == "__all__":
            raise Refused(instance._meta.model_name, messages[0], instance) from error
        raise Refused(field, messages[0], getattr(instance, field, None)) from error


def create_household(
    *,
    slug: str,
    name: str,
    start_period: str,
    time_zone: str = "Europe/Paris",
    cycle_day: int = 1,
) -> Household:
    household = Household(
        slug=slug, name=name, start_period=start_period, time_zone=time_zone, cycle_day=cycle_day
    )
    _clean(household)
    household.save()
    return household


def create_member(
    household: Household,
    *,
    username: str,
    email: str = "",
    display_name: str = "",
    role: str = Member.Role.MEMBER,
    monthly_cap_bytes: int | None = None,
    cap_action: str = Member.CapAction.NOTIFY,
    active: bool = True,
    password: str | None = None,
) -> Member:
    """Create a user and its membership. Without ``password`` the user has no usable
    password until the owner sets one (or the member follows an invitation)."""
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise Refused("username", "is already taken", username)
    if monthly_cap_bytes is not None and not (
        isinstance(monthly_cap_bytes, int) and 0 <= monthly_cap_bytes <= MAX_BYTES
    ):
        raise Refused(
            "monthly_cap_bytes", "must be from 0 to 10^13 bytes or empty", monthly_cap_bytes
        )
    with transaction.atomic():
        user = user_model(username=username, email=email)
        _clean(user, exclude=["password"])
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        member = Member(
            user=user,
            household=household,
            display_name=display_name,
            role=role,
            monthly_cap_bytes=monthly_cap_bytes,
            cap_action=cap_action,
            active=active,
        )
        _clean(member, exclude=["user"])
        member.save()
    return member


def update_member(member: Member, **fields) -> Member:
    """Change a member's name, role, cap, cap action or active flag."""
    allowed = {"display_name", "role", "monthly_cap_bytes", "cap_action", "active"}
    for name, value in fields.items():
        if name not in allowed:
            raise Refused(name, "cannot be changed here", value)
        setattr(member, name, value)
    _clean(member, exclude=["user"])
    member.save(update_fields=list(fields))
    return member
