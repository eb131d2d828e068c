"""System checks for what the accounting's SQL needs from the database."""

from __future__ import annotations

import sqlite3

from django.conf import settings
from django.core import checks

SQLITE_NEEDED = (3, 33, 0)  # UPDATE ... FROM, which moves balances in bulk


@checks.register(checks.Tags.database)
def sqlite_is_recent_enough(app_configs=None, **kwargs) -> list[checks.Error]:
    """Refuse an SQLite older than 3.33: balance updates use ``UPDATE ... FROM``."""
    return sqlite_problems(settings.DATABASES["default"]["ENGINE"], sqlite3.sqlite_version_info)


def sqlite_problems(engine: str, version: tuple[int, ...]) -> list[checks.Error]:
    if not engine.endswith("sqlite3") or version >= SQLITE_NEEDED:
        return []
    found = ".".join(map(str, version))
    return [
        checks.Error(
            f"SQLite {found} is too old: Datapool needs 3.33 or newer (UPDATE ... FROM).",
            hint="Use a Python built with a newer SQLite, or PostgreSQL (DATABASE_URL).",
            id="datapool.E001",
        )
    ]
