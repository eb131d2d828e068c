"""Households and the people in them (SPEC §1 "Household", "Member")."""

from __future__ import annotations

import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from core.periods import Calendar, Period

MAX_BYTES = 10**13


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("is not an IANA time zone name", code="invalid")


period_key_validator = RegexValidator(
    r"^(?!0000|9999)[0-9]{4}-(0[1-9]|1[0-2])\Z", "must be YYYY-MM"
)


class Household(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, default="Europe/Paris", validators=[validate_time_zone]
    )
    cycle_day = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day of the month on which the carrier's billing period starts (1–28).",
    )
    start_period = models.CharField(
        max_length=7,
        validators=[period_key_validator],
        help_text="The first billing period (YYYY-MM) that Datapool accounts for.",
    )
    # The newest period whose buckets exist (SPEC R1); empty before the first opening.
    opened_through = models.CharField(max_length=7, blank=True, default="", editable=False)
    # SPEC §1: set, never cleared, when bytes first move (usage, a grant, a close); from
    # then on the time zone, cycle day and start period cannot change.
    calendar_fixed = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cycle_day__gte=1, cycle_day__lte=28),
                name="household_cycle_day_1_to_28",
            ),
            models.CheckConstraint(
                condition=Q(start_period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
                name="household_start_period_key",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def calendar(self) -> Calendar:
        return Calendar(self.time_zone, self.cycle_day)

    @property
    def first_period(self) -> Period:
        return Period.parse(self.start_period)

    def period_of(self, instant) -> Period:
        return self.calendar.period_of(instant)


class Member(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    class CapAction(models.TextChoices):
        NOTIFY = "notify", "Notify (the pool still covers the usage)"
        BLOCK = "block", "Block (usage beyond the cap is overage)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member"
    )
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    display_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    monthly_cap_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BYTES)],
        help_text="Empty for no cap.",
    )
    cap_action = models.CharField(
        max_length=10, choices=CapAction.choices, default=CapAction.NOTIFY
    )
    active = models.BooleanField(default=True)
    language = models.CharField(
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text="The language of the member's emails (empty: the site's default).",
    )

    class Meta:
        ordering = ["household", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(role="owner", active=True),
                name="member_one_active_owner",
                violation_error_message="A household has exactly one active owner.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "member"]), name="member_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(cap_action__in=["notify", "block"]), name="member_cap_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(monthly_cap_bytes__isnull=True) | Q(monthly_cap_bytes__lte=MAX_BYTES),
                name="member_cap_at_most_1e13",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def username(self) -> str:
        return self.user.get_username()

    @property
    def is_owner(self) -> bool:
        return self.role == Member.Role.OWNER
