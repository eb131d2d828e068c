"""The EU fair-use roaming check (Regulation (EU) 2022/612, Art. 4 and 5).

A plan with open data must include, for roaming in the EU, at least twice the volume
that its monthly price excluding VAT buys at the regulated wholesale cap per GB.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

# Regulated wholesale cap per GB, in euros, by year (the 2027 value holds afterwards).
WHOLESALE_CAP_EUR_PER_GB = {
    2022: Decimal("2.00"),
    2023: Decimal("1.80"),
    2024: Decimal("1.55"),
    2025: Decimal("1.30"),
    2026: Decimal("1.10"),
    2027: Decimal("1.00"),
}


def wholesale_cap(year: int) -> Decimal:
    if year < min(WHOLESALE_CAP_EUR_PER_GB):
        raise ValueError(f"no regulated cap before {min(WHOLESALE_CAP_EUR_PER_GB)} ({year})")
    return WHOLESALE_CAP_EUR_PER_GB[min(year, max(WHOLESALE_CAP_EUR_PER_GB))]


def eu_minimum_roaming_bytes(monthly_price_ex_vat: Decimal, year: int) -> int:
    """2 × price ÷ cap per GB, in bytes (1 GB = 10^9 bytes), rounded down to a byte.

    A €10.00 plan in 2026: 2 × 10 ÷ 1.10 = 18.18 GB.
    """
    price = Decimal(monthly_price_ex_vat)
    if price < 0:
        raise ValueError(f"a price cannot be negative ({price})")
    gigabytes = 2 * price / wholesale_cap(year)
    return int((gigabytes * 10**9).to_integral_value(rounding=ROUND_FLOOR))
