"""Restarts, downtime, concurrent clicks, permissions, and definition versions."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import engine
from engine import queries
from engine.models import AuditEvent, Breach, Case
from engine.service import PROCESSES_DIR


def test_a_new_engine_over_the_same_database_carries_on(world, database_url, clock):
    case_id = world.start()
    world.verify(case_id)
    world.system.db.dispose()

    restarted = engine.open_system(
        engine.Settings(database_url=database_url, demo=True), clock=clock
    )
    world.system, world.engine = restarted, restarted.engine

    world.sign_and_grade(case_id)
    assert world.task_names(case_id) == ["handle"]
    restarted.db.dispose()


def test_timers_due_during_downtime_fire_once_each(world):
    first = world.start()
    second = world.start(waybill_no="SF1895559797114")

    # Nothing runs for four days, then the sweeper comes back and runs twice.
    world.clock.advance(timedelta(days=4))
    assert world.engine.fire_due_timers() == 2
    world.engine.fire_due_timers()

    for case_id in (first, second):
        with world.system.db.reading() as session:
            rules = session.scalars(
                select(Breach.rule).where(Breach.case_id == case_id)
            ).all()
        assert rules == ["verify_15m"]
        fired = [e for e in world.audit(case_id) if e.kind == "timer_fired"]
        assert [e.step for e in fired].count("verify_sla") == 1
        assert fired[0].step == "verify_sla"
        # The 3-day report fell due in the downtime as well, exactly once.
        assert [e.step for e in fired].count("report_3d") == 1


def test_two_concurrent_completes_of_one_task_exactly_one_wins(world):
    case_id = world.start()
    task = world.task(case_id, "verify")
    first, second = world.user("gongdan"), world.user("gongdan")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def click(user: engine.Staff) -> None:
        barrier.wait()
        try:
            world.engine.complete(task.id, user, {"verification": "verified"})
            outcomes.append("won")
        except (engine.ConflictError, engine.TaskStateError, engine.NotFoundError):
            outcomes.append("lost")

    threads = [threading.Thread(target=click, args=(u,)) for u in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["lost", "won"]
    assert world.task_names(case_id) == ["sign"]
    completed = [
        e
        for e in world.audit(case_id)
        if e.kind == "task_completed" and e.step == "verify"
    ]
    assert len(completed) == 1


def test_stale_writer_gets_a_conflict_not_an_overwrite(world):
    case_id = world.start()
    with world.system.db.transaction() as session:
        stale = session.get(Case, case_id)
        version = stale.version

    world.verify(case_id)

    with pytest.raises(Exception) as caught:
        with world.system.db.transaction() as session:
            row = session.get(Case, case_id)
            session.expunge(row)
            row.version = version
            merged = session.merge(row)
            merged.current_step = "overwritten"
    assert "expected to update" in str(caught.value) or "StaleData" in repr(
        caught.value
    )
    assert world.case(case_id).current_step != "overwritten"


def _add_second_clerk(world) -> None:
    """A second work-order centre clerk, to race the first one."""
    with world.system.db.transaction() as session:
        engine.add_user(
            session,
            username="gongdan2",
            display_name="工单中心 二号",
            roles=["work_order_centre"],
            unit=None,
            password="x" * 8,
        )


def test_handler_cannot_complete_a_managers_task(world):
    case_id = world.start()
    world.verify(case_id)
    handler = world.handler_for(case_id)
    world.complete(case_id, "sign", handler, sign_ack="true")
    world.advance(hours=25)
    task = world.task(case_id, "manager_handle")

    with pytest.raises(engine.PermissionDeniedError):
        world.engine.claim(task.id, handler)
    with pytest.raises(engine.PermissionDeniedError):
        world.engine.complete(task.id, handler, {"result": "自己处理了"})
    assert world.task_names(case_id) == ["manager_handle"]


def test_handler_of_another_unit_cannot_sign(world):
    case_id = world.start()
    world.verify(case_id)
    unit = world.case(case_id).unit
    stranger = next(
        world.user(n)
        for n in ("chuli_ba", "chuli_th", "chuli_pd")
        if world.user(n).unit != unit
    )
    task = world.task(case_id, "sign")

    with pytest.raises(engine.PermissionDeniedError):
        world.engine.complete(task.id, stranger, {"sign_ack": "true"})


def test_claimed_task_cannot_be_completed_by_someone_else(world):
    case_id = world.start()
    task = world.task(case_id, "verify")
    world.engine.claim(task.id, world.user("gongdan"))
    _add_second_clerk(world)

    with pytest.raises(engine.TaskStateError):
        world.engine.complete(
            task.id, world.user("gongdan2"), {"verification": "verified"}
        )


def test_invalid_form_input_changes_nothing(world):
    case_id = world.start()
    task = world.task(case_id, "verify")
    before = len(world.audit(case_id))

    with pytest.raises(engine.InputError) as caught:
        world.engine.complete(
            task.id, world.user("gongdan"), {"verification": "unverifiable"}
        )

    assert set(caught.value.errors) >= {"verify_note", "authority"}
    assert world.task_names(case_id) == ["verify"]
    assert len(world.audit(case_id)) == before


def _changed_processes(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, folder)
    diagram = folder / "complaint_lifecycle.bpmn"
    text = diagram.read_text("utf-8")
    assert old in text
    diagram.write_text(text.replace(old, new, 1), "utf-8")
    return folder


def test_timer_changed_in_diagram_changes_new_cases_only(world, tmp_path):
    old_case = world.start()
    folder = _changed_processes(tmp_path, ">PT15M<", ">PT30M<")
    version, created = world.engine.deploy(engine.read_folder(folder), by="fenxi")
    assert created and version == 2

    new_case = world.start(waybill_no="SF1895559797114")
    assert world.case(old_case).definition_version == 1
    assert world.case(new_case).definition_version == 2

    world.advance(minutes=20)
    with world.system.db.reading() as session:
        breached = set(session.scalars(select(Breach.case_id)).all())
    assert breached == {old_case}

    world.advance(minutes=15)
    with world.system.db.reading() as session:
        breached = set(session.scalars(select(Breach.case_id)).all())
    assert breached == {old_case, new_case}


def test_deploying_the_same_content_twice_keeps_the_version(world):
    version, created = world.engine.deploy_folder()
    assert (version, created) == (1, False)


def test_audit_chain_shows_an_edited_row(world):
    case_id = world.start()
    world.verify(case_id)
    with world.system.db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.case_id == case_id, AuditEvent.kind == "task_completed"
            )
        ).first()
        event.actor = "someone_else"

    with world.system.db.reading() as session:
        _, check = queries.audit_trail(session, case_id)
    assert not check.ok
    assert check.broken_at == event.seq


def test_audit_chain_shows_a_deleted_last_row(world):
    case_id = world.start()
    with world.system.db.transaction() as session:
        last = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.seq.desc())
        ).first()
        session.delete(last)

    with world.system.db.reading() as session:
        _, check = queries.audit_trail(session, case_id)
    assert not check.ok


def test_a_claim_that_lands_between_two_reads_is_not_overwritten(world, monkeypatch):
    """Someone else's claim commits after this claim read the task row."""
    case_id = world.start()
    task = world.task(case_id, "verify")
    _add_second_clerk(world)
    me, other = world.user("gongdan"), world.user("gongdan2")
    make_session = world.system.db._sessions
    interleaved: list[bool] = []

    def sessions():
        session = make_session()
        plain_get = session.get

        def get(entity, ident, **kwargs):
            if entity is Case and not interleaved:
                interleaved.append(True)
                world.engine.claim(task.id, other)
            return plain_get(entity, ident, **kwargs)

        session.get = get
        return session

    monkeypatch.setattr(world.system.db, "_sessions", sessions)
    with pytest.raises((engine.TaskStateError, engine.ConflictError)):
        world.engine.claim(task.id, me)

    assert interleaved
    assert world.task(case_id, "verify").assignee == "gongdan2"
    claims = [e.actor for e in world.audit(case_id) if e.kind == "claimed"]
    assert claims == ["gongdan2"]


def test_restarting_never_replaces_what_an_analyst_deployed(
    world, tmp_path, database_url, clock
):
    analyst = _changed_processes(tmp_path / "analyst", ">PT15M<", ">PT20M<")
    assert world.engine.deploy(engine.read_folder(analyst), by="fenxi") == (2, True)
    release = _changed_processes(tmp_path / "release", ">PT15M<", ">PT10M<")

    restarted = engine.open_system(
        engine.Settings(database_url=database_url, demo=True, processes_dir=release),
        clock=clock,
    )

    assert restarted.engine.deployed_version() == 2
    assert restarted.engine.check_folder(release) == (None, False)
    restarted.db.dispose()


def test_a_manifest_naming_another_process_is_refused(world, tmp_path):
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, folder)
    manifest = folder / "manifest.json"
    manifest.write_text(
        manifest.read_text("utf-8").replace('"complaint_lifecycle"', '"other"'), "utf-8"
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(engine.read_folder(folder), by="fenxi")

    assert "complaint_lifecycle" in str(caught.value)


def test_a_database_from_an_older_version_is_refused_with_a_reason(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine.open_system(engine.Settings(database_url=url)).db.dispose()
    old = create_engine(url)
    with old.begin() as conn:
        conn.execute(text("ALTER TABLE open_tasks DROP COLUMN assignee_name"))
    old.dispose()

    with pytest.raises(engine.EngineError) as caught:
        engine.open_system(engine.Settings(database_url=url))

    assert "open_tasks" in str(caught.value) and "assignee_name" in str(caught.value)


def test_staff_accounts_can_be_added_and_sign_in(world):
    with world.system.db.transaction() as session:
        staff = engine.add_user(
            session,
            username="wang.min",
            display_name="王敏",
            roles=["handler"],
            unit="深圳宝安营业部",
            password="long enough",
        )
    assert staff.roles == ("handler",)
    with world.system.db.reading() as session:
        assert engine.authenticate(session, "wang.min", "long enough") == staff
        assert engine.authenticate(session, "wang.min", "wrong") is None

    with pytest.raises(engine.InputError) as caught:
        with world.system.db.transaction() as session:
            engine.add_user(
                session,
                username="Bad Name",
                display_name="",
                roles=["boss"],
                unit="月球营业部",
                password="short",
            )
    assert set(caught.value.errors) == {
        "username",
        "display_name",
        "roles",
        "unit",
        "password",
    }


def test_the_same_complaint_twice_is_refused(world):
    received = world.clock.now().isoformat()
    world.start(received_at=received)

    with pytest.raises(engine.InputError) as caught:
        world.start(received_at=received)

    assert "waybill_no" in caught.value.errors


@pytest.mark.parametrize("task_id", ["\x00", "nope", "1' OR '1'='1", "9" * 40])
def test_malformed_task_ids_are_not_found(world, task_id):
    with pytest.raises(engine.NotFoundError):
        world.engine.claim(task_id, world.user("gongdan"))
    with pytest.raises(engine.NotFoundError):
        world.engine.task_form(task_id)


@pytest.mark.parametrize("case_id", [0, -1, 2**31, 10**30])
def test_out_of_range_case_ids_are_not_found(world, case_id):
    with world.system.db.reading() as session:
        with pytest.raises(engine.NotFoundError):
            queries.case(session, case_id)
