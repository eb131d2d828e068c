"""Fixtures for the management command tests: a clock the commands read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from tests.clock import Clock


@pytest.fixture
def clock(monkeypatch):
    """Commands take no ``now``: they call ``timezone.now()``, so the tests set it.

    Patching the module attribute reaches every caller (services, ``auto_now_add``),
    which all look it up as ``timezone.now`` at call time.
    """
    fixed = Clock(datetime(2026, 3, 5, 12, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", lambda: fixed.now)
    return fixed
