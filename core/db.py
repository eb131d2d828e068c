"""Fast bulk writes for the hot paths (usage import, month-end close).

``bulk_create`` builds a model instance and prepares every value through the field
machinery, which costs more than the database itself once rows count in hundreds of
thousands. Here rows are plain tuples of values of the fields named, written with one
multi-row ``INSERT`` per batch on SQLite and one ``COPY`` on PostgreSQL. Only datetimes
and JSON need adapting (to the backend's form).

On SQLite the SQL is written without spaces between placeholders: Django's backend
rewrites every ``%s`` with a regular expression whose cost grows with the text. Batches
come in a few fixed sizes (a full batch, then powers of two for the rest): the driver
keeps every statement it prepared, and a statement of thousands of placeholders weighs
megabytes, so a new size for every remainder would pile them up.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from itertools import chain
from typing import NamedTuple

from django.db import connection, models

MAX_PARAMS = 4096  # bind parameters per statement (SQLite allows 32766, PostgreSQL 65535)


def batch_sizes(count: int, largest: int) -> list[int]:
    """Split ``count`` rows into batches of ``largest`` and then powers of two."""
    sizes = [largest] * (count // largest)
    rest = count % largest
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes


def insert_rows(
    model: type[models.Model], fields: list[str], rows: list[tuple], *, returning_ids: bool = False
) -> list[int]:
    """Insert ``rows`` into ``model``'s table; return the new ids if asked, in order."""
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    rows = _adapted(rows, columns)
    if connection.vendor == "postgresql":
        return _copy_rows(meta, columns, rows, returning_ids=returning_ids)
    names = ", ".join(quote(c.column) for c in columns)
    head = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "  # noqa: S608 - names only
    placeholder = "(" + ",".join(["%s"] * len(columns)) + ")"
    tail = f" RETURNING {quote(meta.pk.column)}" if returning_ids else ""
    largest = 1 << ((MAX_PARAMS // len(columns)).bit_length() - 1)
    ids: list[int] = []
    start = 0
    with connection.cursor() as cursor:
        for size in batch_sizes(len(rows), largest):
            params = list(chain.from_iterable(rows[start : start + size]))
            start += size
            cursor.execute(head + ",".join([placeholder] * size) + tail, params)
            if returning_ids:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


def _adapted(rows: list[tuple], columns: list[models.Field]) -> list:
    """``rows`` with each value in the form the database takes for its column."""
    adapted = [(i, f) for i, f in enumerate(map(adapter, columns)) if f is not None]
    if not adapted:
        return rows
    result = []
    for row in rows:
        row = list(row)
        for index, adapt in adapted:
            if (value := row[index]) is not None:
                row[index] = adapt(value)
        result.append(row)
    return result


def _copy_rows(meta, columns: list[models.Field], rows: list, *, returning_ids: bool) -> list[int]:
    """PostgreSQL: stream the rows with ``COPY``, which spares the server from parsing
    (and the driver from writing) thousands of literals per statement. New ids are
    taken from the table's sequence first, when they are wanted."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    names = [quote(c.column) for c in columns]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if returning_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            names.insert(0, quote(meta.pk.column))
            rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        table = quote(meta.db_table)
        with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return ids


def insert_objects(objects: list[models.Model], fields: list[str]) -> None:
    """Insert unsaved instances of one model (the values of ``fields``, which must
    cover every column without a default) and give each its new id."""
    if not objects:
        return
    meta = type(objects[0])._meta
    names = [meta.get_field(name).attname for name in fields]
    rows = [tuple(getattr(obj, name) for name in names) for obj in objects]
    ids = insert_rows(type(objects[0]), fields, rows, returning_ids=True)
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False


def adapter(column):
    """How a value of ``column`` is passed to the database, or None to pass it as is."""
    if isinstance(column, models.DateTimeField):
        return datetime_adapter()
    if isinstance(column, models.JSONField):
        return lambda value: column.get_db_prep_save(value, connection)
    return None


def datetime_adapter():
    """What the backend stores for an aware datetime. SQLite keeps naive UTC text, as
    Django's own adapter makes it (written out here: it is called for every row). The
    last value is remembered: a column often holds one instant (``now``) on every row."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":

        def convert(value):
            return value.astimezone(UTC).isoformat(" ")[:-6]  # without "+00:00"

    else:
        convert = connection.ops.adapt_datetimefield_value
    last = [None, None]

    def adapt(value):
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return adapt


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk job. An import holds hundreds
    of thousands of objects, and the collector would walk them all again and again (a
    third of the job's time) to find cycles the job does not make. It runs again, and
    frees whatever did form, as soon as the job ends, however it ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Increment(NamedTuple):
    """Amounts to add to some columns of one row (see ``add_to_columns``)."""

    pk: int
    amounts: tuple[int, ...]  # one per column, in the order the columns are named


def add_to_columns(
    model: type[models.Model],
    columns: list[str],
    increments: list[Increment],
    *,
    less_their_sum: str | None = None,
) -> None:
    """Add each increment's amounts to its row's ``columns``; the column
    ``less_their_sum``, if named, shrinks by the amounts' total. One
    ``UPDATE ... FROM (VALUES ...)`` per few hundred rows (SQLite 3.33 or newer), in a
    few statement sizes, instead of one statement per row."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [quote(model._meta.get_field(name).column) for name in columns]
    sets = [f"{name} = {table}.{name} + d.c{i}" for i, name in enumerate(names)]
    if less_their_sum is not None:
        total = quote(model._meta.get_field(less_their_sum).column)
        summed = " + ".join(f"d.c{i}" for i in range(len(names)))
        sets.append(f"{total} = {table}.{total} - ({summed})")
    aliases = ", ".join(["pk", *(f"c{i}" for i in range(len(names)))])
    row = "(" + ",".join(["CAST(%s AS BIGINT)"] * (len(names) + 1)) + ")"
    pk = quote(model._meta.pk.column)
    start = 0
    for size in batch_sizes(len(increments), 512):
        chunk = increments[start : start + size]
        start += size
        params = [value for change in chunk for value in (change.pk, *change.amounts)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH d ({aliases}) AS (VALUES {','.join([row] * len(chunk))}) "  # noqa: S608 - no input in the SQL text
                f"UPDATE {table} SET {', '.join(sets)} FROM d WHERE {table}.{pk} = d.pk",
                params,
            )


class Key(NamedTuple):
    """A row's value in two columns, say a unique (owner, name) pair (see ``ids_by_key``)."""

    number: int
    text: str


def ids_by_key(
    model: type[models.Model], columns: tuple[str, str], keys: list[Key], *, batch: int = 512
) -> list[int]:
    """The ids of ``model``'s rows whose two ``columns`` (an integer one, then a text one)
    hold one of ``keys``: a join against the keys as ``VALUES``, a few hundred keys a
    statement, so a unique index on the two columns answers each probe."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    first, second = (quote(model._meta.get_field(name).column) for name in columns)
    pk = quote(model._meta.pk.column)
    found: list[int] = []
    start = 0
    with connection.cursor() as cursor:
        for size in batch_sizes(len(keys), batch):
            values = ",".join(["(CAST(%s AS BIGINT),CAST(%s AS TEXT))"] * size)
            cursor.execute(
                f"WITH wanted (a, b) AS (VALUES {values}) "  # noqa: S608 - no input in the SQL text
                f"SELECT row.{pk} FROM wanted JOIN {table} row "
                f"ON row.{first} = wanted.a AND row.{second} = wanted.b",
                [value for key in keys[start : start + size] for value in key],
            )
            found += [row_id for (row_id,) in cursor.fetchall()]
            start += size
    return found
