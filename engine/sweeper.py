"""The embedded worker: a background thread that fires due timers and sends
the outbox. The scaled-out deployment runs the same two jobs in Celery
(``engine.worker``) instead."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from .outbox import Gateway, deliver_pending, gateways_from_env
from .service import Engine

logger = logging.getLogger(__name__)


class Sweeper:
    """Every ``interval`` seconds: fire due timers, then deliver messages."""

    def __init__(
        self,
        engine: Engine,
        *,
        interval: float = 5.0,
        gateways: Mapping[str, Gateway] | None = None,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.gateways = gateways if gateways is not None else gateways_from_env()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, name="timer-sweeper", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sweep_once(self) -> int:
        """One round; returns how many cases had timers fire."""
        fired = 0
        try:
            fired = self.engine.fire_due_timers()
            deliver_pending(self.engine.db, self.engine.clock, self.gateways)
        except Exception:
            # A broken database connection must not kill the thread; the next
            # round tries again, and nothing half-done was committed.
            logger.exception("Sweep failed")
        return fired

    def _loop(self) -> None:
        logger.info("Sweeper started", extra={"interval": self.interval})
        while not self._stop.is_set():
            self.sweep_once()
            self._stop.wait(self.interval)
