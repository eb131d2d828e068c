"""The households and members a usage file names, looked up as it is read (SPEC §3
``import_usage``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from accounts.models import Household, Member
from usage.services.csv_file import Row

CHUNK = 512


@dataclass(slots=True, eq=False)
class MemberFacts:
    """What the import reads of a member, as plain values. Records, caps and alerts take
    it where they take a ``Member``."""

    pk: int
    household_id: int
    username: str
    active: bool
    role: str
    display_name: str
    monthly_cap_bytes: int | None
    cap_action: str

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_owner(self) -> bool:
        return self.role == Member.Role.OWNER


# The fields of ``MemberFacts`` in the database, after the primary key.
MEMBER_FIELDS = (
    "household_id",
    "user__username",
    "active",
    "role",
    "display_name",
    "monthly_cap_bytes",
    "cap_action",
)


def _members_of(household_ids: list[int]) -> Iterator[MemberFacts]:
    for start in range(0, len(household_ids), CHUNK):
        page = household_ids[start : start + CHUNK]
        for values in (
            Member.objects.filter(household_id__in=page)
            .order_by()
            .values_list("pk", *MEMBER_FIELDS)
        ):
            yield MemberFacts(*values)


def look_up(chunk: list[Row], households: dict, members: dict) -> None:
    """Fetch the households and members that ``chunk`` names and were not seen yet."""
    slugs = {row.household for row in chunk} - households.keys()
    if not slugs:
        return
    found = {h.slug: h for h in Household.objects.filter(slug__in=slugs)}
    for slug in slugs:
        households[slug] = found.get(slug)
    for member in _members_of([h.pk for h in found.values()]):
        members[member.household_id, member.username] = member


def refresh_members(members: dict, household_ids: list[int]) -> dict[int, list[MemberFacts]]:
    """Bring the members looked up while the file was read up to date (the households
    are locked now) and return the active ones by household, for the alerts. A member
    deleted or moved since counts as inactive, so none of its rows is recorded."""
    current = {member.pk: member for member in _members_of(household_ids)}
    active = defaultdict(list)
    for member in members.values():
        latest = current.get(member.pk)
        if latest is None or latest.household_id != member.household_id:
            member.active = False
            continue
        for name in MemberFacts.__slots__:
            setattr(member, name, getattr(latest, name))
        if member.active:
            active[member.household_id].append(member)
    return active
