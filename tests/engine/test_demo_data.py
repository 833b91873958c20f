"""The sample complaints: imported as given, or loaded as the demo data set,
then four days of demo clock with a sweep between steps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import engine
from engine import queries

SAMPLES = Path(__file__).resolve().parents[2] / "engine" / "demo" / "complaints.jsonl"


def sample_lines() -> list[dict[str, object]]:
    lines = SAMPLES.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _four_days_of_sweeps(world) -> None:
    for _ in range(16):
        world.clock.advance(timedelta(hours=6))
        world.engine.fire_due_timers()


def _assert_every_trail_in_order(world) -> None:
    with world.system.db.reading() as session:
        cases = queries.cases(session, limit=1000)
        assert queries.status(session)["cases"]["error"] == 0
        for case in cases:
            events, check = queries.audit_trail(session, case.id)
            assert check.ok, (case.id, check.reason)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            moments = [e.at for e in events]
            assert moments == sorted(moments), case.id
            assert events[0].kind == "received"


def test_samples_imported_as_given_then_four_days_leave_no_error(world):
    newest = max(datetime.fromisoformat(r["received_at"]) for r in sample_lines())
    world.clock.set(newest.astimezone(timezone.utc) + timedelta(minutes=1))
    text = SAMPLES.read_text("utf-8")

    report = engine.import_complaints(world.system, text)
    assert (len(report.started), report.rejected) == (40, [])
    _four_days_of_sweeps(world)

    _assert_every_trail_in_order(world)
    with world.system.db.reading() as session:
        status = queries.status(session)
        breaches = queries.breaches(session)
    tasks = {(t["task"], t["role"]): t["count"] for t in status["open_tasks"]}
    # Nobody worked: every case waits for verification, past its 15 minutes,
    # and every one was reported to operations after three days.
    assert tasks[("verify", "work_order_centre")] == 40
    assert tasks[("ops_report", "operations")] == 40
    assert len(breaches) == 40


def test_demo_data_set_then_four_days_leave_no_error(world):
    report = engine.load_demo_data(world.system)
    assert len(report.started) == 40

    world.engine.fire_due_timers()
    with world.system.db.reading() as session:
        assert queries.wall(session), "the demo wall shows worked cases"
        assert queries.status(session)["cases"]["closed"] >= 1
    _four_days_of_sweeps(world)

    _assert_every_trail_in_order(world)


@pytest.mark.parametrize(
    "line, field",
    [
        ('{"channel": "fax"}', "channel"),
        ('{"channel": "web", "waybill_no": "x"}', "waybill_no"),
        ("not json", None),
        ("[1, 2]", None),
    ],
)
def test_bad_import_lines_are_reported_and_good_ones_still_start(world, line, field):
    good = SAMPLES.read_text("utf-8").splitlines()[0]
    world.clock.set(datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc))

    report = engine.import_complaints(world.system, f"{good}\n{line}\n")

    assert len(report.started) == 1
    assert len(report.rejected) == 1
    assert "line 2" in report.rejected[0]
    if field:
        assert field in report.rejected[0]


def test_importing_the_same_file_twice_starts_each_complaint_once(world):
    world.clock.set(datetime(2026, 11, 7, tzinfo=timezone.utc))
    text = "\ufeff" + SAMPLES.read_text("utf-8")

    first = engine.import_complaints(world.system, text)
    second = engine.import_complaints(world.system, text)

    assert (len(first.started), first.rejected) == (40, [])
    assert second.started == []
    assert len(second.rejected) == 40
    assert "already imported" in second.rejected[0]


@pytest.mark.parametrize(
    "received_at, accepted",
    [
        ("2026-11-06T08:00:00+08:00", True),
        ("1970-01-01T00:00:00+00:00", False),
        ("0001-01-01T00:00:00+01:00", False),
        ("2099-01-01T00:00:00+08:00", False),
    ],
)
def test_received_at_must_be_within_the_last_year(world, received_at, accepted):
    world.clock.set(datetime(2026, 11, 7, tzinfo=timezone.utc))
    raw = {
        **json.loads(SAMPLES.read_text("utf-8").splitlines()[0]),
        "received_at": received_at,
    }
    if accepted:
        engine.parse_intake(raw, now=world.clock.now())
    else:
        with pytest.raises(engine.InputError) as caught:
            engine.parse_intake(raw, now=world.clock.now())
        assert "received_at" in caught.value.errors


@pytest.mark.parametrize("name", ["\ud800张三", "张\u202e三", "\u200b"])
def test_invisible_or_unencodable_characters_are_refused(world, name):
    raw = {
        **json.loads(SAMPLES.read_text("utf-8").splitlines()[0]),
        "received_at": None,
    }
    raw["complainant"] = {**raw["complainant"], "name": name}
    with pytest.raises(engine.InputError) as caught:
        engine.parse_intake(raw, now=world.clock.now())
    assert "complainant_name" in caught.value.errors
