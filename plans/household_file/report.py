"""What a household file import did (SPEC §3 ``import_household``), for the command."""

from __future__ import annotations

from dataclasses import dataclass, field


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
