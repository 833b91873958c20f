"""The grading decision table, through the running process: inputs to measure."""

from __future__ import annotations

import pytest

ROWS = [
    # (nature, severity, level, measure, what the handle form starts with)
    ("delay", "low", "一级", "transfer", "转相关部门处理"),
    ("loss", "critical", "四级", "dismissal", "辞退责任人"),
    ("damage", "high", "三级", "economic_penalty", "对责任快递员或网点经济处罚"),
    ("attitude", "medium", "二级", "criticism", "通报批评"),
    ("fee_dispute", "critical", "三级", "report_upward", "上报处理"),
    ("other", "medium", "二级", "investigate", "违规调查"),
]


@pytest.mark.parametrize("nature, severity, level, measure, label", ROWS)
def test_grade_decides_level_and_measure(
    world, nature, severity, level, measure, label
):
    case_id = world.start()
    world.verify(case_id)
    handler = world.handler_for(case_id)
    world.complete(case_id, "sign", handler, sign_ack="true")

    world.complete(case_id, "grade", handler, nature=nature, severity=severity)

    decision = next(e for e in world.audit(case_id) if e.kind == "decision")
    assert decision.detail["decided"] == {
        "level": level,
        "measure": measure,
        "measure_label": label,
    }
    _, initial = world.engine.task_form(world.task(case_id, "handle").id)
    assert initial["measure_taken"] == label


def test_grade_form_refuses_a_category_outside_the_table(world):
    import engine

    case_id = world.start()
    world.verify(case_id)
    handler = world.handler_for(case_id)
    world.complete(case_id, "sign", handler, sign_ack="true")
    task = world.task(case_id, "grade")
    world.engine.claim(task.id, handler)

    with pytest.raises(engine.InputError) as caught:
        world.engine.complete(task.id, handler, {"nature": "alien", "severity": "low"})
    assert "nature" in caught.value.errors


def test_grading_updates_the_case_header_and_its_facts(world):
    case_id = world.start(category="delay", severity="low")
    world.verify(case_id)
    handler = world.handler_for(case_id)
    world.complete(case_id, "sign", handler, sign_ack="true")

    world.complete(case_id, "grade", handler, nature="loss", severity="critical")

    case = world.case(case_id)
    assert (case.category, case.severity) == ("loss", "critical")
    assert case.facts["level"]["value"] == "四级"
    assert case.facts["measure_label"]["value"] == "辞退责任人"
