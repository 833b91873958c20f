"""Recording a complaint that arrived by hotline, e-mail, SMS or the web form."""

from __future__ import annotations

import logging
from typing import Any, Final

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

import engine
from engine import queries

from .auth import INTAKE_ROLES, current_user, roles_required
from .context import commands, now, reading
from .i18n import t
from .presenters import displayable

logger = logging.getLogger(__name__)

bp = Blueprint("intake", __name__)

FIELDS: Final = engine.INTAKE_FIELDS


def _page(
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> ResponseReturnValue:
    # Problems with fields this form does not show (e.g. received_at) go on top.
    general = {k: v for k, v in errors.items() if k not in FIELDS}
    page = render_template(
        "intake/new.html",
        values=values,
        errors=errors,
        general_errors=general,
        channels=engine.CHANNELS,
        categories=engine.CATEGORIES,
        severities=engine.SEVERITIES,
        units=engine.UNITS,
    )
    return page, status


@bp.get("/intake")
@roles_required(*INTAKE_ROLES)
def new() -> ResponseReturnValue:
    return _page({"channel": "hotline", "severity": "medium"}, {})


@bp.post("/intake")
@roles_required(*INTAKE_ROLES)
def create() -> ResponseReturnValue:
    raw = {name: request.form.get(name, "") for name in FIELDS}
    try:
        intake = engine.parse_intake(raw, now=now())
    except engine.InputError as exc:
        shown = {name: displayable(value) for name, value in raw.items()}
        return _page(shown, dict(exc.errors), exc.status)

    case_id = commands().start_case(intake, actor=current_user())
    with reading() as session:
        number = queries.case(session, case_id).work_order_no or str(case_id)
    logger.info("Complaint recorded", extra={"case_id": case_id})
    flash(t("intake.created", number=number), "ok")
    return redirect(url_for("audit.case_page", case_id=case_id))
