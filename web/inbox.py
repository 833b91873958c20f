"""The task inbox and the task page: claim, release, fill the form, complete.

The form of a task comes from the diagram (``Engine.task_form``); one template
renders every form by the widget of each field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

import engine
from engine import queries

from .auth import current_user, login_required, safe_next
from .context import commands, now, reading
from .errors import wants_json
from .i18n import current_language, in_language, t
from .presenters import row_dict

logger = logging.getLogger(__name__)

bp = Blueprint("inbox", __name__)

NOTIFICATION_FIELDS: Final = ("case_id", "kind", "text", "created_at")


@bp.get("/")
@bp.get("/inbox")
@login_required
def index() -> ResponseReturnValue:
    user = current_user()
    with reading() as session:
        tasks = queries.inbox(session, user)
        notes = [
            row_dict(n, NOTIFICATION_FIELDS)
            for n in queries.notifications(session, user)
        ]

    # My claimed tasks first; otherwise the engine's order (earliest due first).
    tasks.sort(key=lambda task: task.assignee != user.username)
    return render_template(
        "inbox/index.html", tasks=tasks, notifications=notes, now=now()
    )


def visible_task(session: Session, task_id: str) -> queries.TaskView:
    """The open task, if it is in the user's inbox (their roles and unit)."""
    task = queries.task(session, task_id)
    mine = queries.inbox(session, current_user())
    if not any(entry.id == task.id for entry in mine):
        abort(403, description=t("task.not_yours"))
    return task


def render_task(
    task_id: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    with reading() as session:
        task = visible_task(session, task_id)
        case = queries.case(session, task.case_id)
        contact = queries.case_contact(session, task.case_id, current_user())
    form, initial = commands().task_form(task_id)
    page = render_template(
        "inbox/task.html",
        task=task,
        case=case,
        contact=contact,
        form=form,
        values=initial if values is None else values,
        errors=errors or {},
        lang=current_language(),
        now=now(),
    )
    return page, status


@bp.get("/tasks/<task_id>")
@login_required
def task_page(task_id: str) -> ResponseReturnValue:
    return render_task(task_id)


def _title(task_id: str) -> str:
    with reading() as session:
        return in_language(visible_task(session, task_id).title)


def _back(task_id: str | None = None) -> ResponseReturnValue:
    """Where a button sends the user afterwards: ``next``, the task, or the inbox."""
    target = safe_next(request.form.get("next"))
    if target is None and task_id is not None:
        with reading() as session:
            try:
                queries.task(session, task_id)
                target = url_for("inbox.task_page", task_id=task_id)
            except engine.NotFoundError:
                target = None
    return redirect(target or url_for("inbox.index"))


def _button(
    task_id: str, command: Callable[[str, engine.Staff], None], done: str
) -> ResponseReturnValue:
    """Run a claim or release; a refusal is flashed (or raised for JSON clients)."""
    title = _title(task_id)
    try:
        command(task_id, current_user())
    except (engine.ConflictError, engine.TaskStateError) as exc:
        if wants_json():
            raise
        flash(in_language(str(exc)), "error")
        return _back(task_id)
    flash(t(done, title=title), "ok")
    return _back(task_id)


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> ResponseReturnValue:
    return _button(task_id, commands().claim, "inbox.claimed")


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> ResponseReturnValue:
    return _button(task_id, commands().release, "inbox.released")


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str) -> ResponseReturnValue:
    title = _title(task_id)
    submitted = request.form.to_dict(flat=False)
    try:
        commands().complete(task_id, current_user(), submitted, lang=current_language())
    except engine.InputError as exc:
        values = {name: request.form.get(name, "") for name in request.form}
        return render_task(
            task_id, values=values, errors=dict(exc.errors), status=exc.status
        )
    except (engine.ConflictError, engine.TaskStateError) as exc:
        if wants_json():
            raise
        flash(in_language(str(exc)), "error")
        return _back(task_id)

    logger.info("Task completed", extra={"task_id": task_id})
    flash(t("inbox.completed", title=title), "ok")
    return redirect(url_for("inbox.index"))
