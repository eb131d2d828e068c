"""The base of commands that take a household by its slug."""

from __future__ import annotations

from accounts.models import Household
from accounts.selectors import household_by_slug
from core.commands import DatapoolCommand


class HouseholdCommand(DatapoolCommand):
    """Adds the household argument (a positional slug, or ``--household SLUG``)."""

    household_option = False  # True: an optional ``--household SLUG`` (default: all)

    def add_arguments(self, parser):
        if self.household_option:
            parser.add_argument("--household", metavar="SLUG", help="Only this household.")
        else:
            parser.add_argument("slug", help="The household.")

    def household(self, options: dict) -> Household | None:
        """The household the options name (``Refused`` if none has that slug)."""
        slug = options.get("household") if self.household_option else options["slug"]
        return household_by_slug(slug) if slug else None
