"""Celery tasks for the scaled-out deployment: timers and outbox delivery.

Run a worker with its beat schedule::

    celery -A engine.worker worker --beat --loglevel INFO

The broker is ``CELERY_BROKER_URL`` (Redis); the database is ``DATABASE_URL``.
Several workers may run at once: each case is fired under a row lock with
SKIP LOCKED on PostgreSQL, so no timer fires twice, and a worker killed in the
middle of a case leaves its transaction uncommitted, so nothing is lost; the
next sweep picks the case up again.
"""

from __future__ import annotations

import os

from celery import Celery

from .outbox import deliver_pending, gateways_from_env
from .system import System, open_system

SWEEP_SECONDS = float(os.environ.get("COMPLAINTS_SWEEP_SECONDS", "5"))

app = Celery("complaints")
app.conf.update(
    broker_url=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="complaints",
    beat_schedule={
        "fire-due-timers": {
            "task": "complaints.fire_due_timers",
            "schedule": SWEEP_SECONDS,
        },
        "deliver-outbox": {
            "task": "complaints.deliver_outbox",
            "schedule": SWEEP_SECONDS * 2,
        },
    },
)


_system: System | None = None


def use_system(opened: System | None) -> None:
    """Run the tasks against ``opened`` (tests, or an embedding process)."""
    global _system
    _system = opened


def system() -> System:
    """One system per worker process, opened on first use."""
    global _system
    if _system is None:
        _system = open_system()
    return _system


@app.task(name="complaints.fire_due_timers")
def fire_due_timers() -> int:
    return system().engine.fire_due_timers()


@app.task(name="complaints.deliver_outbox")
def deliver_outbox() -> int:
    opened = system()
    return deliver_pending(opened.db, opened.engine.clock, gateways_from_env())
