"""The invariants of SPEC R6, each checked by a pure function over rows already loaded.

No Django, no database: ``usage.ledger`` loads the rows, a household at a time or a
few hundred at once, and turns each ``Finding`` into a ``Violation``. A bucket, record,
close or terms row here is anything with the fields of its model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from plans.rules import DOMESTIC, ROAMING
from usage.rules import valid_for

LEDGER_FIELDS = (
    ("allocated_bytes", "allocation"),
    ("rolled_out_bytes", "roll_out"),
    ("expired_bytes", "expiry"),
)


class Finding(NamedTuple):
    """One invariant that does not hold, within a household."""

    subject: str  # "bucket #12 (…)", "record r-1", "close 2026-10", ...
    what: str
    expected: object
    found: object


def bucket_name(bucket) -> str:
    return f"bucket #{bucket.pk} ({bucket.kind} {bucket.zone} {bucket.period})"


def grant_kind(bucket) -> str:
    """The ledger entry that brought the bucket's bytes in."""
    return "roll_in" if bucket.kind == "rollover" else "grant"


def bucket_findings(
    bucket, grants: tuple[int, int] | None, entries: dict[str, int], allocated: int
) -> Iterator[Finding]:
    """SPEC R6, each bucket: one grant entry; granted = allocated + rolled out + expired
    + left and left >= 0 (unlimited: left unlimited, nothing rolled or expired); every
    stored figure equals its ledger entries, and ``allocated`` (its allocations).
    ``grants`` is (count, total bytes) of its grant entries, ``entries`` the total bytes
    of its other entries by kind."""
    name, kind = bucket_name(bucket), grant_kind(bucket)
    count = grants[0] if grants else 0
    if count != 1:
        yield Finding(name, f"one {kind} entry", 1, count)
    yield from _balance_findings(bucket, name, kind, grants)
    for field, entry_kind in LEDGER_FIELDS:
        if getattr(bucket, field) != entries.get(entry_kind, 0):
            yield Finding(
                name,
                f"{field} equals its {entry_kind} ledger entries",
                entries.get(entry_kind, 0),
                getattr(bucket, field),
            )
    if bucket.allocated_bytes != allocated:
        yield Finding(
            name, "allocated_bytes equals its allocations", allocated, bucket.allocated_bytes
        )


def _balance_findings(b, name: str, kind: str, grants) -> Iterator[Finding]:
    if b.unlimited:
        if b.left_bytes is not None or b.rolled_out_bytes or b.expired_bytes:
            figures = f"{b.left_bytes}/{b.rolled_out_bytes}/{b.expired_bytes}"
            what = "unlimited: left unlimited, nothing rolled or expired"
            yield Finding(name, what, "None/0/0", figures)
        return
    total = b.allocated_bytes + b.rolled_out_bytes + b.expired_bytes + (b.left_bytes or 0)
    if b.left_bytes is None or b.left_bytes < 0 or total != b.granted_bytes:
        what = "granted = allocated + rolled out + expired + left"
        yield Finding(name, what, b.granted_bytes, total)
    if grants is not None and grants[1] != b.granted_bytes:
        yield Finding(name, f"granted bytes in the ledger ({kind})", b.granted_bytes, grants[1])


def record_findings(
    ref: str,
    started_at: datetime,
    zone: str,
    amount: int,
    covered: int,
    overage: int,
    *,
    period: str,
    expected_period: str,
    allocations: list[tuple[int, int]],
    entries: int,
    buckets: dict,
    from_domestic: int = 0,
    roams_domestic: bool = False,
) -> Iterator[Finding]:
    """SPEC R6, each record: bytes = allocations + overage (covered = allocations), its
    allocation ledger entries equal its allocations, its period contains ``started_at``,
    and each allocation (bucket id, bytes) came from a bucket of the household valid at
    ``started_at``, of its zone, or, for a roaming record whose period's terms roam
    from the domestic pool (``roams_domestic``, R10), a domestic one; its
    ``from_domestic`` bytes equal its allocations from domestic buckets."""
    name = f"record {ref}"
    drawn = sum(n for _, n in allocations)
    if amount != drawn + overage or covered != drawn:
        yield Finding(name, "bytes = sum of allocations + overage", amount, drawn + overage)
    if entries != drawn:
        yield Finding(name, "allocation ledger entries equal its allocations", drawn, entries)
    if period != expected_period:
        yield Finding(name, "period contains started_at", expected_period, period)
    domestic = 0
    for bucket_id, amount in allocations:
        b = buckets.get(bucket_id)
        if b is not None and zone == ROAMING and b.zone == DOMESTIC:
            domestic += amount
        if b is None or not (
            valid_for(b, zone=zone, at=started_at)
            or (roams_domestic and valid_for(b, zone=DOMESTIC, at=started_at))
        ):
            what = f"allocation from a valid {zone} bucket of the household"
            yield Finding(name, what, "valid bucket", f"bucket #{bucket_id}")
    if from_domestic != domestic:
        what = "from_domestic_bytes equals its allocations from domestic buckets"
        yield Finding(name, what, domestic, from_domestic)


def fair_use_finding(member: str, period: str, drawn: int, volume: int | None):
    """SPEC R10 (R6): the domestic bytes a member's roaming drew in a period are at most
    the fair-use ``volume`` of that period's terms (``None``: no limit). A finding, or
    ``None``."""
    if volume is None or drawn <= volume:
        return None
    what = "domestic bytes drawn by roaming <= the fair-use volume"
    return Finding(f"member {member} {period}", what, volume, drawn)


def contiguity_findings(expected: list[str], keys: list[str]) -> Iterator[Finding]:
    """SPEC R6: closes are contiguous from the start period (``expected``), one per
    period."""
    if keys != expected:
        what = "contiguous from the start period, one per period"
        yield Finding("closes", what, expected, keys)


def close_findings(close, in_force, rollover, roll_outs=None, buckets=None) -> Iterator[Finding]:
    """SPEC R6, each close: rolled <= unused (R11: with the packs that roll over), rolled
    <= the rollover cap of the terms ``in_force``, rolled <= the bank's room recorded at
    the close (R8), nothing rolled without rollover terms nor at a forfeiting close
    (R9), the ``rollover`` bucket it granted (None: none) equals rolled, and its
    ``roll_outs`` ((bucket id, bytes) entries; None: not checked) add up to rolled, each
    from the period's allowance or a domestic pack that rolls over."""
    name, rolled = f"close {close.period}", close.rolled_bytes
    if close.unused_bytes is not None and rolled > close.unused_bytes:
        yield Finding(name, "rolled <= unused allowance", close.unused_bytes, rolled)
    yield from _cap_findings(name, close, in_force)
    if close.forfeited and rolled:
        yield Finding(name, "nothing rolls at a forfeiting close", 0, rolled)
    granted = rollover.granted_bytes if rollover else 0
    if granted != rolled:
        yield Finding(name, "rollover bucket equals rolled bytes", rolled, granted)
    if roll_outs is not None:
        yield from _roll_out_findings(name, close, roll_outs, buckets or {})


def _cap_findings(name: str, close, in_force) -> Iterator[Finding]:
    rolled = close.rolled_bytes
    cap = in_force.rollover_cap_bytes if in_force else None
    if cap is not None and rolled > cap:
        yield Finding(name, "rolled <= rollover cap", cap, rolled)
    bank_cap = getattr(in_force, "rollover_bank_cap_bytes", None) if in_force else None
    if bank_cap is not None and rolled > max(0, bank_cap - close.banked_bytes):
        room = max(0, bank_cap - close.banked_bytes)
        yield Finding(name, "rolled <= the bank's room at the close", room, rolled)
    if in_force is not None and not in_force.rollover and rolled:
        yield Finding(name, "no rollover without rollover terms", 0, rolled)


def _roll_out_findings(name: str, close, roll_outs, buckets) -> Iterator[Finding]:
    total = sum(amount for _, amount in roll_outs)
    if total != close.rolled_bytes:
        yield Finding(name, "roll-out entries equal rolled bytes", close.rolled_bytes, total)
    for bucket_id, _ in roll_outs:
        b = buckets.get(bucket_id)
        allowance = b is not None and b.kind == "allowance" and b.period == close.period
        pack = b is not None and getattr(b, "rolls_over", False) and b.zone == "domestic"
        if not (allowance or pack):
            what = "roll-out from the period's allowance or a pack that rolls over"
            yield Finding(name, what, "allowance or rolling pack", f"bucket #{bucket_id}")


def orphan_rollover_finding(bucket) -> Finding:
    """SPEC R6: a rollover bucket that no close granted."""
    what = "rollover bucket comes from a close"
    return Finding(f"bucket #{bucket.pk}", what, f"close {bucket.period}", "none")
