"""The timer sweeper: a background thread that fires due timers."""

from __future__ import annotations

import logging
import threading

from .service import Engine

logger = logging.getLogger(__name__)


class Sweeper:
    """Calls :meth:`Engine.fire_due_timers` every ``interval`` seconds."""

    def __init__(self, engine: Engine, *, interval: float = 5.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="timer-sweeper",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sweep_once(self) -> int:
        try:
            return self.engine.fire_due_timers()
        except Exception:
            # A broken database connection must not kill the thread; the next
            # round tries again.
            logger.exception("Timer sweep failed")
            return 0

    def _loop(self) -> None:
        logger.info("Timer sweeper started", extra={"interval": self.interval})
        while not self._stop.is_set():
            self.sweep_once()
            self._stop.wait(self.interval)
