"""Writes for households and members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import MAX_BYTES, Household, Member
from core.errors import Refused, clean_or_refuse


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
    clean_or_refuse(household)
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
        clean_or_refuse(user, exclude=["password"])
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
        clean_or_refuse(member, exclude=["user"])
        member.save()
    return member


def add_member(household: Household, user, *, email: str | None = None, **fields) -> Member:
    """Make an existing user in no household yet (say, the admin's own account) a
    member of ``household``; the user keeps its password. ``fields`` as for
    ``create_member``; ``email``, if given, replaces the user's."""
    with transaction.atomic():
        member = Member(user=user, household=household, **fields)
        clean_or_refuse(member, exclude=["user"])
        member.save()
        if email is not None and user.email != email:
            user.email = email
            clean_or_refuse(user, exclude=["password"])
            user.save(update_fields=["email"])
    return member


def update_member(member: Member, **fields) -> Member:
    """Change a member's name, email, role, cap, cap action or active flag."""
    allowed = {"display_name", "email", "role", "monthly_cap_bytes", "cap_action", "active"}
    for name, value in fields.items():
        if name not in allowed:
            raise Refused(name, "cannot be changed here", value)
    email = fields.pop("email", None)
    if email is not None and email != member.user.email:
        member.user.email = email
        clean_or_refuse(member.user, exclude=["password"])
        member.user.save(update_fields=["email"])
    for name, value in fields.items():
        setattr(member, name, value)
    clean_or_refuse(member, exclude=["user"])
    if fields:
        member.save(update_fields=list(fields))
    return member


def update_household(household: Household, *, name: str) -> Household:
    """Rename a household (its calendar changes go through ``change_calendar``)."""
    household.name = name
    clean_or_refuse(household)
    household.save(update_fields=["name"])
    return household


def fix_calendar(household_ids) -> None:
    """SPEC §1: the calendar is fixed once bytes moved. The usage, grant and close
    services call this under the household lock when they first write bytes; one
    UPDATE, a no-op for households already fixed."""
    Household.objects.filter(pk__in=list(household_ids), calendar_fixed=False).update(
        calendar_fixed=True
    )


def send_invitation(member: Member, *, base_url: str) -> None:
    """Email ``member`` a link to choose a password (Django's password-reset link), so
    an owner can invite someone whose account has no password yet. Sent after commit."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = member.user
    if not user.email:
        raise Refused("email", "the member has no email address", member.username)
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {"member": member, "household": member.household, "link": base_url + path}
    with translation.override(translation.get_language()):
        subject = render_to_string("registration/invitation_subject.txt", context).strip()
        body = render_to_string("registration/invitation_email.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))
