"""What the pages, alerts and emails say of the carrier terms (SPEC R8–R10, R12): the
bank and its cap, a coming forfeit, each member's fair-use volume left, and the words
for the bytes the pool did not cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext, gettext_lazy

from plans import rules as plan_rules
from plans.models import WhenPoolIsEmpty
from plans.rules import roams_from_domestic
from usage.rules import fair_use_room
from usage.selectors.figures import MemberFigures, PeriodFigures, Snapshot

# SPEC R12: the bytes an empty pool left, named as the plan says.
POOL_EMPTY_WORDS = {
    WhenPoolIsEmpty.OVERAGE: gettext_lazy("beyond the pool, billed"),
    WhenPoolIsEmpty.SLOWED: gettext_lazy("at reduced speed"),
    WhenPoolIsEmpty.BLOCKED: gettext_lazy("blocked"),
}


def pool_empty_words(when_pool_is_empty: str | None) -> str:
    """SPEC R12: the words for uncovered bytes under ``when_pool_is_empty`` (a period
    without terms bills them, the default)."""
    return str(POOL_EMPTY_WORDS.get(when_pool_is_empty, POOL_EMPTY_WORDS["overage"]))


@dataclass(frozen=True)
class UncoveredPart:
    """Bytes the pool did not cover, for one reason, with the words that name them."""

    reason: str  # "pool_empty", "capped" or "beyond_fair_use"
    bytes: int
    words: str


def uncovered_parts(
    *,
    overage: int,
    capped: int,
    beyond_fair_use: int,
    when_pool_is_empty: str | None,
    member_name: str | None = None,
) -> list[UncoveredPart]:
    """SPEC R12: ``overage`` split by reason, the empty parts left out. Bytes a block cap
    refused are always the member's cap's (``member_name``; "a cap" for a household's
    sum), bytes beyond the fair-use volume always beyond fair use, whatever the plan
    says; the rest is named by the period's ``when_pool_is_empty``."""
    if member_name is None:
        cap_words = gettext("stopped by members' caps")
    else:
        cap_words = gettext("stopped by %(name)s's cap") % {"name": member_name}
    parts = [
        UncoveredPart(
            "pool_empty",
            max(0, overage - capped - beyond_fair_use),
            pool_empty_words(when_pool_is_empty),
        ),
        UncoveredPart("capped", capped, cap_words),
        UncoveredPart("beyond_fair_use", beyond_fair_use, gettext("beyond fair use")),
    ]
    return [part for part in parts if part.bytes]


def member_uncovered(figures: MemberFigures, when_pool_is_empty: str | None) -> list:
    """``uncovered_parts`` of one member's figures."""
    return uncovered_parts(
        overage=figures.overage_bytes,
        capped=figures.capped_bytes,
        beyond_fair_use=figures.beyond_fair_use_bytes,
        when_pool_is_empty=when_pool_is_empty,
        member_name=figures.member.name,
    )


def period_uncovered(figures: PeriodFigures) -> list[UncoveredPart]:
    """SPEC R12: a past period's uncovered bytes, named by that period's terms."""
    return uncovered_parts(
        overage=figures.overage_bytes,
        capped=figures.capped_bytes,
        beyond_fair_use=figures.beyond_fair_use_bytes,
        when_pool_is_empty=figures.when_pool_is_empty,
    )


def household_uncovered(snap: Snapshot) -> list[UncoveredPart]:
    """``uncovered_parts`` of the whole household this period."""
    return uncovered_parts(
        overage=snap.overage_bytes,
        capped=sum(m.capped_bytes for m in snap.members),
        beyond_fair_use=sum(m.beyond_fair_use_bytes for m in snap.members),
        when_pool_is_empty=snap.terms.when_pool_is_empty if snap.terms else None,
    )


@dataclass(frozen=True)
class Bank:
    """SPEC R8: the rolled-over data held now, against the cap on the whole bank."""

    banked_bytes: int
    cap_bytes: int

    @property
    def percent(self) -> int:
        if not self.cap_bytes:
            return 100
        return min(100, round(100 * self.banked_bytes / self.cap_bytes))


def bank(snap: Snapshot) -> Bank | None:
    """The bank and its cap, when the period's terms cap the bank."""
    if snap.terms is None or snap.terms.rollover_bank_cap_bytes is None:
        return None
    return Bank(snap.rollover_remaining_bytes, snap.terms.rollover_bank_cap_bytes)


@dataclass(frozen=True)
class Forfeit:
    """SPEC R9: the bank this period's close will lose, and when the next terms start."""

    bytes: int
    on: datetime


def coming_forfeit(snap: Snapshot) -> Forfeit | None:
    """The rolled-over data the close of this period loses, because the terms already
    recorded for the next period make it forfeit (``plans.rules.forfeits``)."""
    if snap.terms is None or snap.next_terms is None or snap.next_terms is snap.terms:
        return None
    held = snap.rollover_remaining_bytes
    if not held or not plan_rules.forfeits(snap.terms, snap.next_terms):
        return None
    return Forfeit(held, snap.end)


@dataclass(frozen=True)
class FairUse:
    """SPEC R10: one member's fair-use volume this period and what is left of it."""

    figures: MemberFigures
    volume_bytes: int

    @property
    def used_bytes(self) -> int:
        return self.figures.from_domestic_bytes

    @property
    def left_bytes(self) -> int:
        return fair_use_room(self.volume_bytes, self.used_bytes)


def fair_use(snap: Snapshot) -> list[FairUse]:
    """Each member's fair-use volume left, when roaming comes out of the domestic pool
    up to a volume (empty otherwise)."""
    terms = snap.terms
    if not roams_from_domestic(terms):
        return []
    if terms.roaming_fair_use_bytes is None:
        return []
    return [FairUse(m, terms.roaming_fair_use_bytes) for m in snap.members]
