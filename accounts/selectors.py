"""Reads about households and members."""

from accounts.models import Household, Member
from core.errors import Refused


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


def owner_household(request) -> Household | None:
    """The household the signed-in user owns (active owner), cached on the request."""
    if not hasattr(request, "_owner_household"):
        member = member_for(request.user)
        owns = member is not None and member.active and member.is_owner
        request._owner_household = member.household if owns else None
    return request._owner_household


def household_member(household: Household, pk: int) -> Member | None:
    """The member ``pk`` of ``household``, with its user; None if not one of its members."""
    return Member.objects.select_related("user").filter(pk=pk, household=household).first()
