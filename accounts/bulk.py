"""Fast multi-row INSERT for the hot paths (usage import, month-end close).

``bulk_create`` builds a model instance and prepares every value through the field
machinery, which costs more than the database itself once rows count in hundreds of
thousands. Here rows are plain tuples of values of the fields named, written with one
multi-row ``INSERT`` per batch. Only datetimes need adapting (to the backend's form).
"""

from __future__ import annotations

from datetime import UTC

from django.db import connection, models

MAX_PARAMS = 30000  # under SQLite's 32766 and PostgreSQL's 65535 bind parameters


def insert_rows(
    model: type[models.Model], fields: list[str], rows: list[tuple], *, returning_ids: bool = False
) -> list[int]:
    """Insert ``rows`` into ``model``'s table; return the new ids if asked, in order."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    adapt = [adapter(column) for column in columns]
    names = ", ".join(quote(c.column) for c in columns)
    head = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "  # noqa: S608 - names only
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    tail = f" RETURNING {quote(meta.pk.column)}" if returning_ids else ""
    per_batch = max(1, MAX_PARAMS // len(columns))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_batch):
            batch = rows[start : start + per_batch]
            params = [
                value if adapter is None or value is None else adapter(value)
                for row in batch
                for value, adapter in zip(row, adapt, strict=True)
            ]
            cursor.execute(head + ", ".join([placeholder] * len(batch)) + tail, params)
            if returning_ids:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


def adapter(column):
    """How a value of ``column`` is passed to the database, or None to pass it as is."""
    if isinstance(column, models.DateTimeField):
        return datetime_adapter()
    if isinstance(column, models.JSONField):
        return lambda value: column.get_db_prep_save(value, connection)
    return None


def datetime_adapter():
    """What the backend stores for an aware datetime. SQLite keeps naive UTC text, as
    Django's own adapter makes it (written out here: it is called for every row)."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        return lambda value: str(value.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value
