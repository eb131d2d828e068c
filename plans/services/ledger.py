"""The ledger writer: the only code that changes a bucket's balance (SPEC §1 "Ledger").

Every change of a balance comes with its ledger entries, written by the same caller
in the same transaction; the caller holds the households' locks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from core.db import Increment, add_to_columns, insert_objects, insert_rows
from plans.models import Bucket, LedgerEntry
from plans.rules import BucketSpec

Entry = LedgerEntry.Kind

LEDGER_FIELDS = ["household", "bucket", "kind", "bytes", "at", "period_close", "created_at"]
BUCKET_FIELDS = [
    "household",
    "kind",
    "zone",
    "period",
    "granted_bytes",
    "allocated_bytes",
    "rolled_out_bytes",
    "expired_bytes",
    "left_bytes",
    "valid_from",
    "expires_at",
    "note",
    "rolls_over",
    "created_at",
]


class LedgerRow(NamedTuple):
    """One ledger entry to append (``bytes`` None: an unlimited grant)."""

    household_id: int
    bucket_id: int
    kind: str
    bytes: int | None
    at: datetime
    period_close_id: int | None = None


def write_entries(rows: Iterable[LedgerRow]) -> None:
    """Append ledger entries, in one statement per batch (they are many at a close)."""
    now = timezone.now()
    insert_rows(LedgerEntry, LEDGER_FIELDS, [(*row, now) for row in rows])


def grant_entries(buckets: list[Bucket], kind: str = Entry.GRANT, close=None) -> list[LedgerRow]:
    """The entries that put each new bucket's bytes in it (a grant, or a roll-in)."""
    close_id = close.pk if close is not None else None
    return [
        LedgerRow(b.household_id, b.pk, kind, b.granted_bytes, b.valid_from, close_id)
        for b in buckets
    ]


def new_bucket(household_id: int, spec: BucketSpec, *, created_at: datetime) -> Bucket:
    """An unsaved bucket holding what ``spec`` grants."""
    return Bucket(
        household_id=household_id,
        kind=spec.kind,
        zone=spec.zone,
        period=spec.period,
        granted_bytes=spec.granted_bytes,
        left_bytes=spec.granted_bytes,
        valid_from=spec.valid_from,
        expires_at=spec.expires_at,
        note=spec.note,
        rolls_over=spec.rolls_over,
        created_at=created_at,
    )


def insert_buckets(buckets: list[Bucket]) -> None:
    """Insert new buckets (their entries are written by the caller)."""
    insert_objects(buckets, BUCKET_FIELDS)


@dataclass(frozen=True, slots=True)
class Move:
    """Bytes leaving one bucket: allocated to usage, rolled out, or expired."""

    allocated: int = 0
    rolled_out: int = 0
    expired: int = 0

    def __add__(self, other: Move) -> Move:
        return Move(
            self.allocated + other.allocated,
            self.rolled_out + other.rolled_out,
            self.expired + other.expired,
        )


def move_bytes(moves: dict[int, Move]) -> None:
    """Apply ``moves`` (bucket id -> Move) to the stored balances: each figure grows by
    its amount and ``left_bytes`` shrinks by their sum (an unlimited bucket's stays
    empty). The caller holds the household locks and writes the matching ledger
    entries."""
    increments = [
        Increment(pk, (m.allocated, m.rolled_out, m.expired))
        for pk, m in moves.items()
        if m.allocated or m.rolled_out or m.expired
    ]
    add_to_columns(
        Bucket,
        ["allocated_bytes", "rolled_out_bytes", "expired_bytes"],
        increments,
        less_their_sum="left_bytes",
    )
