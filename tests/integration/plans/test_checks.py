"""The system check for the SQLite version the bulk balance updates need."""

from __future__ import annotations

from django.core.checks.registry import registry

from core.checks import sqlite_is_recent_enough, sqlite_problems

SQLITE = "django.db.backends.sqlite3"


def test_an_old_sqlite_is_refused_with_its_version():
    [error] = sqlite_problems(SQLITE, (3, 31, 1))

    assert error.id == "datapool.E001"
    assert "SQLite 3.31.1 is too old" in error.msg


def test_sqlite_3_33_is_enough():
    assert sqlite_problems(SQLITE, (3, 33, 0)) == []


def test_postgresql_does_not_care_about_sqlite():
    assert sqlite_problems("django.db.backends.postgresql", (3, 7, 0)) == []


def test_this_machine_passes_and_the_check_is_registered():
    assert sqlite_is_recent_enough() == []
    assert sqlite_is_recent_enough in registry.get_checks(include_deployment_checks=False)
