"""The demo data set: the sample complaints, some of them already worked.

A fresh demo should show a realistic board, not 40 untouched complaints: after
loading, the demo staff work some cases to different steps through the same
commands a person would use (verify, sign, grade, handle, reply, rate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import queries
from .errors import EngineError
from .system import ImportReport, System, demo_complaints, import_complaints
from .users import Staff, find_staff

logger = logging.getLogger(__name__)

# How far each case is worked, by its position in the file: 0 leaves it new.
_STAGES = (0, 1, 2, 3, 4, 5, 0, 2, 3, 1)


def load_demo_data(system: System) -> ImportReport:
    report = import_complaints(system, demo_complaints(), shift=True)
    for index, case_id in enumerate(report.started):
        stage = _STAGES[index % len(_STAGES)]
        try:
            _work(system, case_id, stage)
        except (EngineError, LookupError):
            logger.warning(
                "Demo case left where it stopped", extra={"case_id": case_id}
            )
    return report


def _work(system: System, case_id: int, stage: int) -> None:
    steps: list[Callable[[System, int], None]] = [
        _verify,
        _sign_and_grade,
        _handle,
        _reply_and_rate,
        _accept,
    ]
    for step in steps[:stage]:
        step(system, case_id)


def _staff(system: System, username: str) -> Staff:
    with system.db.reading() as session:
        staff = find_staff(session, username)
    if staff is None:
        raise LookupError(username)
    return staff


def _unit_staff(system: System, case_id: int, role: str) -> Staff:
    with system.db.reading() as session:
        unit = queries.case(session, case_id).unit
    suffix = {"深圳宝安营业部": "ba", "广州天河营业部": "th", "上海浦东营业部": "pd"}[
        unit
    ]
    return _staff(system, f"{'chuli' if role == 'handler' else 'jingli'}_{suffix}")


def _do(
    system: System, case_id: int, spec_name: str, user: Staff, **values: str
) -> None:
    with system.db.reading() as session:
        tasks = [
            t for t in queries.case_tasks(session, case_id) if t.spec_name == spec_name
        ]
    if not tasks:
        raise LookupError(spec_name)
    system.engine.claim(tasks[0].id, user)
    system.engine.complete(tasks[0].id, user, values)


def _verify(system: System, case_id: int) -> None:
    _do(
        system,
        case_id,
        "verify",
        _staff(system, "gongdan"),
        verification="verified",
        identity_checked="true",
        verify_note="已电话核实投诉人身份和投诉内容。",
    )


def _sign_and_grade(system: System, case_id: int) -> None:
    handler = _unit_staff(system, case_id, "handler")
    with system.db.reading() as session:
        case = queries.case(session, case_id)
    _do(system, case_id, "sign", handler, sign_ack="true")
    _do(system, case_id, "grade", handler, nature=case.category, severity=case.severity)


def _handle(system: System, case_id: int) -> None:
    _do(
        system,
        case_id,
        "handle",
        _unit_staff(system, case_id, "handler"),
        result="已调查：问题属实，快件已重新安排派送并向客户致歉。",
        responsible_party="派送网点",
        measure_taken="通报批评，责任人限期整改",
        resolved="true",
    )


def _reply_and_rate(system: System, case_id: int) -> None:
    _do(
        system,
        case_id,
        "reply",
        _staff(system, "kefu"),
        reply_channel="sms",
        reply_text="您好，您反映的问题已核实处理，快件今日送达，给您带来不便深表歉意。",
        suggestion_adopted="false",
    )
    _do(
        system,
        case_id,
        "confirm",
        _unit_staff(system, case_id, "handler"),
        confirm_ack="true",
    )
    _do(
        system,
        case_id,
        "rate",
        _unit_staff(system, case_id, "manager"),
        rating="4",
        rating_comment="处理及时，回复得体。",
    )


def _accept(system: System, case_id: int) -> None:
    _do(system, case_id, "await_customer", _staff(system, "kefu"), disputed="false")
