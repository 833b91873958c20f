"""The one source of "now" for the whole system.

Every command reads the time from a :class:`Clock`. While a command runs, the
time it read is pinned with :func:`pinned`, and SpiffWorkflow's timer module
reads the pinned time too (see ``engine.spiff``), so a test can move a case
forward 15 minutes, 24 hours or 3 days without sleeping.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Protocol

_pinned: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "complaints_pinned_now", default=None
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that only moves when told to; for tests and benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start or datetime(2026, 11, 1, tzinfo=timezone.utc))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = ensure_utc(moment)


class OffsetClock:
    """The system clock plus an offset read from a callable (the demo clock).

    The offset lives in the database so that ``complaints clock advance`` in one
    process moves the time seen by the server in another.
    """

    def __init__(self, offset: Callable[[], timedelta]) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset()


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def pinned_now() -> datetime | None:
    """The time pinned by the running command, if any."""
    return _pinned.get()


@contextlib.contextmanager
def pinned(moment: datetime) -> Iterator[datetime]:
    """Pin "now" for everything the current command runs, timers included."""
    token = _pinned.set(ensure_utc(moment))
    try:
        yield ensure_utc(moment)
    finally:
        _pinned.reset(token)
