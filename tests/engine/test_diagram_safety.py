"""Diagram text is never Python: hostile conditions, timers and cells are refused.

Two lines of defence, each tested: deploying a hostile diagram is rejected with
the element named; and a hostile definition that reached the database anyway
(written past the deploy check) fails cleanly at run time, with nothing run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

import engine
from engine import queries
from engine.definitions import content_hash, read_folder
from engine.models import Case, Definition
from engine.service import PROCESSES_DIR

CONDITION = 'verification == "verified"'
HOSTILE = [
    pytest.param("__import__('os').system('touch {marker}')", id="import"),
    pytest.param("().__class__.__base__.__subclasses__()", id="subclasses"),
    pytest.param("[].__class__.__mro__[1].__subclasses__()", id="mro"),
    pytest.param("9**9**9", id="huge-power"),
    pytest.param("open('{marker}', 'w')", id="open"),
    pytest.param("(lambda: 1)()", id="lambda"),
]


def _folder_with(tmp_path: Path, old: str, new: str, file: str) -> Path:
    folder = tmp_path / "processes"
    if not folder.exists():
        shutil.copytree(PROCESSES_DIR, folder)
    path = folder / file
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), "utf-8")
    return folder


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@pytest.mark.parametrize("expression", HOSTILE)
def test_hostile_condition_is_rejected_at_deploy(world, tmp_path, expression):
    marker = tmp_path / "pwned"
    hostile = _xml_escape(expression.format(marker=marker))
    folder = _folder_with(
        tmp_path, _xml_escape(CONDITION), hostile, "complaint_lifecycle.bpmn"
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    problem = caught.value.problems[0]
    assert problem.element_id == "verify_ok"
    assert problem.file == "complaint_lifecycle.bpmn"
    assert not marker.exists()
    with world.system.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Definition)) == 1


@pytest.mark.parametrize("expression", HOSTILE)
def test_hostile_timer_is_rejected_at_deploy(world, tmp_path, expression):
    marker = tmp_path / "pwned"
    folder = _folder_with(
        tmp_path,
        ">PT15M<",
        ">" + _xml_escape(expression.format(marker=marker)) + "<",
        "complaint_lifecycle.bpmn",
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert caught.value.problems[0].element_id == "verify_sla"
    assert not marker.exists()


def test_hostile_dmn_cell_is_rejected_at_deploy(world, tmp_path):
    marker = tmp_path / "pwned"
    folder = _folder_with(
        tmp_path,
        '<text>"loss"</text>',
        "<text>"
        + _xml_escape(f"__import__('os').system('touch {marker}')")
        + "</text>",
        "grading.dmn",
    )
    text = (folder / "grading.dmn").read_text("utf-8")
    assert "__import__" in text

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert caught.value.problems[0].file == "grading.dmn"
    assert not marker.exists()


@pytest.mark.parametrize("expression", HOSTILE)
def test_hostile_definition_past_the_check_fails_cleanly(world, tmp_path, expression):
    """A definition written straight into the database still cannot run code."""
    marker = tmp_path / "pwned"
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, folder)
    files = read_folder(folder)
    text = files["complaint_lifecycle.bpmn"].decode()
    files["complaint_lifecycle.bpmn"] = text.replace(
        _xml_escape(CONDITION), _xml_escape(expression.format(marker=marker)), 1
    ).encode()
    with world.system.db.transaction() as session:
        session.add(
            Definition(
                process_id="complaint_lifecycle",
                version=2,
                content_hash=content_hash(files),
                files={k: v.decode() for k, v in files.items()},
                deployed_by="intruder",
                deployed_at=world.clock.now(),
            )
        )

    # The cache checks a definition when it first loads it, so the hostile
    # version is refused before any case can start on it.
    with pytest.raises(engine.DefinitionError):
        world.start()
    assert not marker.exists()
    with world.system.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_expression_failure_at_run_time_stops_the_case_cleanly(world, tmp_path):
    """A condition naming data that is never set fails with the element named."""
    folder = _folder_with(
        tmp_path,
        _xml_escape(CONDITION),
        _xml_escape('no_such_field == "x"'),
        "complaint_lifecycle.bpmn",
    )
    world.engine.deploy(read_folder(folder), by="fenxi")
    case_id = world.start()
    task = world.task(case_id, "verify")
    before = world.audit(case_id)

    with pytest.raises(engine.CaseRunError) as caught:
        world.engine.complete(
            task.id, world.user("gongdan"), {"verification": "verified"}
        )

    assert "no_such_field" in str(caught.value)
    # Nothing of the failed command landed: the task is still open, same trail.
    assert world.task_names(case_id) == ["verify"]
    assert len(world.audit(case_id)) == len(before)
    with world.system.db.reading() as session:
        assert queries.case(session, case_id).status == "open"


@pytest.mark.parametrize("expression", HOSTILE)
def test_the_engine_itself_never_evaluates_diagram_text_as_python(tmp_path, expression):
    """Past every deploy check, the run-time evaluator still refuses."""
    from engine.clock import pinned
    from engine.spiff import CaseRunner, ServiceCall, parse_definition, service_handler

    marker = tmp_path / "pwned"
    files = read_folder(PROCESSES_DIR)
    files["complaint_lifecycle.bpmn"] = (
        files["complaint_lifecycle.bpmn"]
        .decode()
        .replace(
            _xml_escape(CONDITION), _xml_escape(expression.format(marker=marker)), 1
        )
        .encode()
    )
    parsed = parse_definition("complaint_lifecycle", files)

    def no_op(call: ServiceCall) -> dict[str, object]:
        return {"unresolved": False}

    with pinned(engine.FakeClock().now()), service_handler(no_op):
        runner = CaseRunner.start(parsed, {"category": "loss", "severity": "low"})
        runner.run()
        verify = next(t for t in runner.ready_tasks() if t.spec_name == "verify")
        with pytest.raises(Exception) as caught:
            runner.complete(verify.id, {"verification": "verified"})

    assert _raised_by_safe_evaluator(caught.value), repr(caught.value)
    assert not marker.exists()


def _raised_by_safe_evaluator(exc: BaseException | None) -> bool:
    from engine.expressions import ExpressionError
    from engine.spiff import ExpressionFailure

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (ExpressionError, ExpressionFailure)):
            return True
        exc = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


@pytest.mark.parametrize(
    "timer",
    [
        "PT15X",
        "-PT15M",
        "",
        "1",
        "True",
        "None",
        "['PT15M']",
        "2026-13-45",
        "P10000Y",
        "P99999999Y",
        "P0D",
        "PT0S",
        "R/PT1M",
    ],
)
def test_unusable_timer_is_rejected_at_deploy(world, tmp_path, timer):
    folder = _folder_with(
        tmp_path, ">PT15M<", ">" + _xml_escape(timer) + "<", "complaint_lifecycle.bpmn"
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert caught.value.problems[0].element_id == "verify_sla"


def test_repeating_timer_is_rejected_at_deploy(world, tmp_path):
    folder = _folder_with(
        tmp_path,
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT15M</bpmn:timeDuration>',
        '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/PT0S</bpmn:timeCycle>',
        "complaint_lifecycle.bpmn",
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert "repeating" in str(caught.value)


@pytest.mark.parametrize("cell", ["9**9**9", "'a'*10**9", "open('/etc/passwd')"])
def test_hostile_dmn_input_cell_is_rejected_at_deploy(world, tmp_path, cell):
    folder = _folder_with(
        tmp_path,
        '<text>"loss"</text>',
        "<text>" + _xml_escape(cell) + "</text>",
        "grading.dmn",
    )

    with pytest.raises(engine.DefinitionError):
        world.engine.deploy(read_folder(folder), by="fenxi")


def test_diagram_with_a_doctype_is_rejected(world, tmp_path):
    folder = _folder_with(
        tmp_path,
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM '
        '"file:///etc/passwd">]>',
        "grading.dmn",
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert "DOCTYPE" in str(caught.value)


def test_a_huge_duration_reached_at_run_time_fails_fast():
    import time

    from engine.spiff import TimerEventDefinition

    started = time.monotonic()
    with pytest.raises(ValueError):
        TimerEventDefinition.parse_iso_duration("P99999999Y")
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("timer", ["description", "category + 'x'", "verify_note"])
def test_a_timer_may_not_read_what_people_typed(world, tmp_path, timer):
    folder = _folder_with(
        tmp_path, ">PT15M<", ">" + _xml_escape(timer) + "<", "complaint_lifecycle.bpmn"
    )

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert caught.value.problems[0].element_id == "verify_sla"


def test_a_role_scope_must_be_unit_or_company(world, tmp_path):
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, folder)
    manifest = folder / "manifest.json"
    text = manifest.read_text("utf-8")
    assert '"scope": "unit"' in text
    manifest.write_text(text.replace('"scope": "unit"', '"scope": "Unit"', 1), "utf-8")

    with pytest.raises(engine.DefinitionError) as caught:
        world.engine.deploy(read_folder(folder), by="fenxi")

    assert "scope" in str(caught.value)
