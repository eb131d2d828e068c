"""The order in which usage draws on buckets (SPEC R3.2, R7)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from core.problems import Problem
from plans.rules.buckets import KIND_ORDER, KINDS, ROAMING, ROLLOVER

B = TypeVar("B")
FROM_DOMESTIC = "from_domestic"  # a roaming_mode (R10)


# --- R3.2: the draw order ---------------------------------------------------------------


def order_as_list(consumption_order: str | Sequence[str]) -> list[str]:
    """SPEC R7: a consumption order as the list of the four kinds in draw order: a
    named order (``rollover_first``), a stored list (``bonus,addon,allowance,rollover``)
    or a list. A named order and its list are the same order."""
    if not isinstance(consumption_order, str):
        return list(consumption_order)
    if consumption_order in KIND_ORDER:
        return list(KIND_ORDER[consumption_order])
    return consumption_order.split(",")


def stored_order(kinds: Sequence[str]) -> str:
    """The one stored form of an order (``order_as_list`` reads it back): a named
    order's name when the list is one, else the kinds joined by commas."""
    for name, named in KIND_ORDER.items():
        if list(kinds) == named:
            return name
    return ",".join(kinds)


def order_problem(field: str, value: object) -> Problem | None:
    """SPEC R7: a consumption order is ``rollover_first``, ``rollover_last`` or a list
    naming each of the four kinds exactly once (lowercase, as written)."""
    if isinstance(value, str):
        if value in KIND_ORDER:
            return None
        return Problem(field, "must be rollover_first, rollover_last or a list of the kinds", value)
    if not isinstance(value, list | tuple):
        return Problem(field, "must be rollover_first, rollover_last or a list of the kinds", value)
    for index, kind in enumerate(value):
        if kind not in KINDS:
            return Problem(f"{field}[{index}]", "unknown kind", kind)
        if kind in value[:index]:
            return Problem(f"{field}[{index}]", "names a kind twice", kind)
    if missing := [kind for kind in KINDS if kind not in value]:
        return Problem(
            field, "must name each of the four kinds: missing " + ", ".join(missing), value
        )
    return None


def kind_order(consumption_order: str | Sequence[str], zone: str) -> list[str]:
    """SPEC R3.2: the kinds in the order usage of ``zone`` draws on them. Domestic data
    follows the consumption order; roaming follows it with rollover left out (roaming
    data never rolls over, so in effect: the allowance, then bonuses, then add-ons)."""
    kinds = order_as_list(consumption_order)
    if zone == ROAMING:
        return [kind for kind in kinds if kind != ROLLOVER]
    return kinds


def draw_order(
    buckets: Iterable[B], *, consumption_order: str | Sequence[str], zone: str
) -> list[B]:
    """SPEC R3.2: ``buckets`` in the order usage draws on them, a total order: by kind
    (``kind_order``), then soonest ``expires_at``, then earlier ``valid_from``, then
    ``pk`` (the older grant). A kind the order leaves out comes last."""
    kinds = kind_order(consumption_order, zone)
    rank = {kind: index for index, kind in enumerate(kinds)}
    last = len(kinds)
    return sorted(buckets, key=lambda b: (rank.get(b.kind, last), b.expires_at, b.valid_from, b.pk))


def roams_from_domestic(terms) -> bool:
    """SPEC R10: whether roaming records under ``terms`` (None: no plan) draw on the
    domestic buckets after the roaming ones."""
    return terms is not None and terms.roaming_mode == FROM_DOMESTIC
