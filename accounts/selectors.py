"""Reads about households and members."""

from accounts.errors import Refused
from accounts.models import Household, Member


def household_by_slug(slug: str) -> Household:
    household = Household.objects.filter(slug=slug).first()
    if household is None:
        raise Refused("household", "no such household", slug)
    return household


def member_for(user) -> Member | None:
    """The user's membership with its household, or None (one query)."""
    if not user.is_authenticated:
        return None
    return Member.objects.select_related("household", "user").filter(user=user).first()
