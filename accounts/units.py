"""Bytes for people: decimal units (1 GB = 10^9 bytes) unless the setting says 1024."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

from accounts.errors import Refused

_DECIMAL = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_BINARY = {"B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_bytes(field: str, text: str) -> int:
    """``"5GB"``, ``"500 MB"``, ``"1.5GB"``, ``"1GiB"`` or plain digits, as bytes."""
    match = _AMOUNT.fullmatch(text or "")
    unit = match[2].upper() if match else ""
    factor = _DECIMAL.get(unit or "B") or _BINARY.get(unit)
    if not match or factor is None:
        raise Refused(field, "must be bytes, or an amount with a unit such as 500MB or 5GB", text)
    try:
        amount = Decimal(match[1]) * factor
    except InvalidOperation:
        raise Refused(field, "is not a number", text) from None
    if amount != amount.to_integral_value():
        raise Refused(field, "is not a whole number of bytes", text)
    return int(amount)


DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def scale(value: int, *, binary: bool | None = None) -> tuple[Decimal, str]:
    """``value`` bytes as an amount rounded for people and its unit symbol: three
    significant figures (``12.3``, ``1.99``), whole bytes below a kilobyte."""
    binary = settings.DATAPOOL_BINARY_UNITS if binary is None else binary
    step = 1024 if binary else 1000
    units = BINARY_UNITS if binary else DECIMAL_UNITS
    amount, index = Decimal(abs(value)), 0
    while amount >= step and index < len(units) - 1:
        amount /= step
        index += 1
    digits = 0 if index == 0 else 2 if amount < 10 else 1 if amount < 100 else 0
    amount = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return (-amount if value < 0 else amount), units[index]


def format_bytes(value: int | None, *, binary: bool | None = None) -> str:
    """``12.3 GB``, ``500 MB``, ``0 B``; ``None`` (unlimited) as ``unlimited``."""
    if value is None:
        return "unlimited"
    amount, unit = scale(value, binary=binary)
    return f"{amount} {unit}"
