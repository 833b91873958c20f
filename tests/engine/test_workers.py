"""Timer sweeps from several workers at once, and the Celery tasks on Redis."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.models import Breach, OutboxMessage
from engine.outbox import deliver_pending

REDIS_URL = os.environ.get("COMPLAINTS_TEST_REDIS_URL")


def _breach_counts(world) -> dict[int, int]:
    with world.system.db.reading() as session:
        rows = session.execute(
            select(Breach.case_id, func.count()).group_by(Breach.case_id)
        ).all()
    return {case_id: count for case_id, count in rows}


def test_two_sweepers_at_once_fire_each_timer_once(world):
    cases = [world.start(waybill_no=f"SF{1000000000000 + n}") for n in range(6)]
    world.clock.advance(timedelta(minutes=16))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep() -> None:
        barrier.wait()
        try:
            world.engine.fire_due_timers()
        except BaseException as exc:  # a sweeper must never raise
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert _breach_counts(world) == {case_id: 1 for case_id in cases}
    for case_id in cases:
        fired = [e for e in world.audit(case_id) if e.kind == "timer_fired"]
        assert [e.step for e in fired] == ["verify_sla"]


def test_outbox_messages_are_delivered_once_and_failures_retried(world):
    world.start()
    sent: list[str] = []

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def send(self, recipient: str, body: str, *, subject: str) -> None:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("gateway down")
            sent.append(body)

    flaky = Flaky()
    gateways = {"sms": flaky, "email": flaky}
    assert deliver_pending(world.system.db, world.clock, gateways) == 0
    assert deliver_pending(world.system.db, world.clock, gateways) == 1
    assert deliver_pending(world.system.db, world.clock, gateways) == 0

    assert len(sent) == 1 and "工单号" in sent[0]
    with world.system.db.reading() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.attempts) == ("sent", 2)
    assert "gateway down" in (message.last_error or "")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_celery_worker_fires_timers_through_redis(world, database_url):
    # The scaled-out deployment is PostgreSQL only, so this runs there only.
    if not REDIS_URL:
        pytest.skip("Celery tests need COMPLAINTS_TEST_REDIS_URL (.ci/run sets it)")
    from celery.contrib.testing.worker import start_worker

    from engine import worker

    worker.app.conf.update(
        broker_url=REDIS_URL,
        result_backend=REDIS_URL,
        task_default_queue=f"complaints-test-{os.getpid()}",
    )
    worker.use_system(world.system)
    cases = [world.start(waybill_no=f"SF{2000000000000 + n}") for n in range(3)]
    world.clock.advance(timedelta(minutes=20))
    try:
        with start_worker(
            worker.app, pool="solo", perform_ping_check=False, shutdown_timeout=30
        ):
            fired = worker.fire_due_timers.delay().get(timeout=60)
            again = worker.fire_due_timers.delay().get(timeout=60)
            delivered = worker.deliver_outbox.delay().get(timeout=60)
    finally:
        worker.use_system(None)

    assert (fired, again) == (3, 0)
    assert delivered == 3
    assert _breach_counts(world) == {case_id: 1 for case_id in cases}


def test_one_case_that_cannot_run_does_not_stop_the_sweep(world):
    from engine.models import Case

    broken, *others = [
        world.start(waybill_no=f"SF{3000000000000 + n}") for n in range(3)
    ]
    with world.system.db.transaction() as session:
        session.get(Case, broken).state = "{}"  # a state that no longer loads
    world.clock.advance(timedelta(minutes=16))

    fired = world.engine.fire_due_timers()

    assert fired == 2
    assert world.case(broken).status == "error"
    assert "error" in [e.kind for e in world.audit(broken)]
    assert _breach_counts(world) == {case_id: 1 for case_id in others}
    # The stopped case is left alone afterwards; the others carry on.
    world.clock.advance(timedelta(days=4))
    assert world.engine.fire_due_timers() == 2


def test_a_database_failure_mid_sweep_blames_no_case(world, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from engine.operations import OPERATIONS

    case_id = world.start()
    world.clock.advance(timedelta(minutes=16))

    def connection_lost(ctx, call):
        raise OperationalError("SELECT 1", {}, ConnectionError("connection lost"))

    monkeypatch.setitem(OPERATIONS, "record_breach", connection_lost)
    with pytest.raises(OperationalError):
        world.engine.fire_due_timers()
    assert world.case(case_id).status == "open"

    # The database is back: the same timer fires, once.
    monkeypatch.undo()
    assert world.engine.fire_due_timers() == 1
    assert _breach_counts(world) == {case_id: 1}
