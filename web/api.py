"""The JSON API: the same commands and queries as the pages, for scripts and fetch.

It uses the same session cookie as the pages (sign in with ``POST /api/login``).
Every POST must send JSON or ``X-Requested-With: fetch`` (see :mod:`web.csrf`).
Errors come back as ``{"ok": false, "status", "message", "errors"?}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, jsonify, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

import engine
from engine import queries

from .auth import (
    AUDIT_ROLES,
    INTAKE_ROLES,
    USER_KEY,
    current_user,
    login_required,
    roles_required,
    start_session,
    valid_credentials,
)
from .context import commands, now, reading
from .i18n import current_language, t
from .presenters import all_deadlines, plain
from .wall import wall_rows

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what to send."""
    try:
        body = request.get_json(silent=True)
    except (BadRequest, RecursionError):
        body = None
    if not isinstance(body, dict):
        abort(400, description=t("api.body_object"))
    return body


def staff_json(staff: engine.Staff) -> dict[str, Any]:
    return {
        "username": staff.username,
        "display_name": staff.display_name,
        "roles": list(staff.roles),
        "unit": staff.unit,
    }


def task_json(task: queries.TaskView) -> dict[str, Any]:
    data: dict[str, Any] = plain(task)
    data["overdue"] = task.overdue(now())
    return data


@bp.post("/login")
def login() -> ResponseReturnValue:
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        abort(400, description=t("auth.bad_input"))
    username = username.strip()
    if not valid_credentials(username, password):
        abort(400, description=t("auth.bad_input"))

    with reading() as db_session:
        staff = engine.authenticate(db_session, username, password)
    if staff is None:
        abort(401, description=t("auth.failed"))
    start_session(staff)
    return jsonify({"ok": True, "user": staff_json(staff)})


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.pop(USER_KEY, None)
    return jsonify({"ok": True})


@bp.get("/status")
@login_required
def status() -> ResponseReturnValue:
    with reading() as db_session:
        return jsonify(queries.status(db_session))


@bp.get("/inbox")
@login_required
def inbox() -> ResponseReturnValue:
    user = current_user()
    with reading() as db_session:
        tasks = queries.inbox(db_session, user)
    return jsonify(
        {
            "user": staff_json(user),
            "tasks": [task_json(task) for task in tasks],
        }
    )


@bp.get("/cases/<int:case_id>")
@roles_required(*AUDIT_ROLES)
def case(case_id: int) -> ResponseReturnValue:
    with reading() as db_session:
        view = queries.case(db_session, case_id)
        tasks = queries.case_tasks(db_session, case_id)
        events, chain = queries.audit_trail(db_session, case_id)
    data: dict[str, Any] = plain(view)
    states = all_deadlines(view.deadlines, now())
    data["deadline_states"] = [state.to_dict() for state in states]
    return jsonify(
        {
            "case": data,
            "tasks": [task_json(task) for task in tasks],
            "audit": [plain(event) for event in events],
            "chain": plain(chain),
        }
    )


@bp.get("/wall")
def wall() -> ResponseReturnValue:
    return jsonify({"entries": [row.to_dict() for row in wall_rows(now())]})


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> ResponseReturnValue:
    commands().claim(task_id, current_user())
    return jsonify({"ok": True, "task_id": task_id})


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> ResponseReturnValue:
    commands().release(task_id, current_user())
    return jsonify({"ok": True, "task_id": task_id})


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str) -> ResponseReturnValue:
    body = json_body()
    with reading() as db_session:
        case_id = queries.task(db_session, task_id).case_id
    commands().complete(task_id, current_user(), body, lang=current_language())
    logger.info("Task completed through the API", extra={"task_id": task_id})
    return jsonify({"ok": True, "task_id": task_id, "case_id": case_id})


@bp.post("/complaints")
@roles_required(*INTAKE_ROLES)
def create_complaint() -> ResponseReturnValue:
    intake = engine.parse_intake(json_body(), now=now())
    case_id = commands().start_case(intake, actor=current_user())
    with reading() as db_session:
        number = queries.case(db_session, case_id).work_order_no
    return jsonify({"ok": True, "case_id": case_id, "work_order_no": number}), 201
