"""A clock the tests move: what ``timezone.now()`` answers while a test runs."""

from datetime import datetime

from django.utils import timezone


class Clock:
    """What ``timezone.now()`` answers while a test runs; move it with ``set``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def set(self, now: datetime) -> None:
        assert timezone.is_aware(now)
        self.now = now
