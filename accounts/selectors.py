"""Reads about households and members."""

from accounts.errors import Refused
from accounts.models import Household


def household_by_slug(slug: str) -> Household:
    household = Household.objects.filter(slug=slug).first()
    if household is None:
        raise Refused("household", "no such household", slug)
    return household
