"""Helpers for the concurrency tests (test_concurrency.py).

Each test in test_concurrency.py runs in exactly one kind of session, chosen from the
default database; the others deselect it:

- ``@pytest.mark.postgres``: when the default database is PostgreSQL;
- ``@pytest.mark.sqlite_file``: when the test database is an SQLite file
  (``DATAPOOL_TEST_DB_NAME`` names it);
- unmarked (the wrappers): when the test database is the usual in-memory SQLite. They
  re-run the file in a subprocess on PostgreSQL and on an SQLite file.

So the default SQLite run proves the PostgreSQL tests through the wrapper, and the
PostgreSQL run runs them directly: nothing runs twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

CONCURRENCY_FILE = Path(__file__).with_name("test_concurrency.py")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_file: needs an SQLite file database (run by test_concurrency.py)"
    )


def session_kind() -> str:
    """``postgres``, ``sqlite_file`` or ``sqlite_memory``: what the test database is."""
    database = settings.DATABASES["default"]
    if "postgresql" in database["ENGINE"]:
        return "postgres"
    name = (database.get("TEST") or {}).get("NAME")
    if name and name != ":memory:" and "mode=memory" not in str(name):
        return "sqlite_file"
    return "sqlite_memory"


def item_kind(item) -> str:
    for kind in ("postgres", "sqlite_file"):
        if item.get_closest_marker(kind):
            return kind
    return "sqlite_memory"


def pytest_collection_modifyitems(config, items):
    kind = session_kind()
    keep, drop = [], []
    for item in items:
        mine = item.path == CONCURRENCY_FILE
        (drop if mine and item_kind(item) != kind else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None


@pytest.fixture
def run_concurrently():
    """Run each callable in its own thread, all released at once by a barrier.

    Every thread has its own database connection (Django's are per thread) and closes
    it at the end. Returns one ``Outcome`` per callable, in order.
    """

    def run(*tasks, timeout: float = 60) -> list[Outcome]:
        start = threading.Barrier(len(tasks))
        outcomes = [Outcome() for _ in tasks]

        def work(outcome: Outcome, task) -> None:
            try:
                start.wait(timeout)
                outcome.value = task()
            except BaseException as error:  # reported to the test, which asserts on it
                outcome.error = error
            finally:
                connection.close()

        threads = [
            threading.Thread(target=work, args=(outcome, task), daemon=True)
            for outcome, task in zip(outcomes, tasks, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in threads), f"a thread ran over {timeout} s"
        return outcomes

    return run
