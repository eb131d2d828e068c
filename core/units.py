"""Bytes for people: decimal units (1 GB = 10^9 bytes) unless the setting says 1024.

``UNITS`` is the one table of byte units: parsing typed amounts, the admin's amount
fields, the manual-entry form and the ``bytes`` template filter all read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from core.errors import Refused


@dataclass(frozen=True, slots=True)
class Unit:
    symbol: str  # as shown in English: "kB", "GiB"
    size: int  # bytes in one unit
    binary: bool  # a 1024-based unit
    name: Promise  # the symbol in the reader's language ("Go" in French)


UNITS = (
    Unit("B", 1, False, pgettext_lazy("unit", "B")),
    Unit("kB", 10**3, False, pgettext_lazy("unit", "kB")),
    Unit("MB", 10**6, False, pgettext_lazy("unit", "MB")),
    Unit("GB", 10**9, False, pgettext_lazy("unit", "GB")),
    Unit("TB", 10**12, False, pgettext_lazy("unit", "TB")),
    Unit("KiB", 2**10, True, pgettext_lazy("unit", "KiB")),
    Unit("MiB", 2**20, True, pgettext_lazy("unit", "MiB")),
    Unit("GiB", 2**30, True, pgettext_lazy("unit", "GiB")),
    Unit("TiB", 2**40, True, pgettext_lazy("unit", "TiB")),
)
BY_SYMBOL = {unit.symbol: unit for unit in UNITS}
# Typed amounts: symbols in any case ("5gb", "1GIB"); plain "B" is both kinds' byte.
_TYPED = {unit.symbol.upper(): unit.size for unit in UNITS}
_AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def units(*, binary: bool) -> list[Unit]:
    """Bytes, then the 1000- or 1024-based units, smallest first."""
    return [u for u in UNITS if u.size == 1 or u.binary == binary]


def parse_bytes(field: str, text: str) -> int:
    """``"5GB"``, ``"500 MB"``, ``"1.5GB"``, ``"1GiB"`` or plain digits, as bytes."""
    match = _AMOUNT.fullmatch(text or "")
    size = _TYPED.get(match[2].upper() or "B") if match else None
    if size is None:
        raise Refused(field, "must be bytes, or an amount with a unit such as 500MB or 5GB", text)
    try:
        amount = Decimal(match[1]) * size
    except InvalidOperation:
        raise Refused(field, "is not a number", text) from None
    if amount != amount.to_integral_value():
        raise Refused(field, "is not a whole number of bytes", text)
    return int(amount)


def shortest_text(value: int) -> str:
    """``value`` as typed by a person: ``5GB`` when it is a whole number of a decimal unit
    from MB up, plain digits otherwise."""
    for unit in reversed(units(binary=False)):
        if unit.size >= 10**6 and value and value % unit.size == 0:
            return f"{value // unit.size}{unit.symbol}"
    return str(value)


def scale(value: int, *, binary: bool | None = None) -> tuple[Decimal, Unit]:
    """``value`` bytes as an amount rounded for people and its unit: three significant
    figures (``12.3``, ``1.99``), whole bytes below a kilobyte."""
    binary = settings.DATAPOOL_BINARY_UNITS if binary is None else binary
    steps = units(binary=binary)
    step = 1024 if binary else 1000
    amount, index = Decimal(abs(value)), 0
    while amount >= step and index < len(steps) - 1:
        amount /= step
        index += 1
    digits = 0 if index == 0 else 2 if amount < 10 else 1 if amount < 100 else 0
    amount = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return (-amount if value < 0 else amount), steps[index]


def format_bytes(value: int | None, *, binary: bool | None = None) -> str:
    """``12.3 GB``, ``500 MB``, ``0 B``; ``None`` (unlimited) as ``unlimited``."""
    if value is None:
        return "unlimited"
    amount, unit = scale(value, binary=binary)
    return f"{amount} {unit.symbol}"
