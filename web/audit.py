"""The case list and the case page with its audit trail and chain check."""

from __future__ import annotations

import logging
import re
from typing import Final

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import queries

from .auth import AUDIT_ROLES, roles_required
from .context import now, reading
from .i18n import t
from .presenters import all_deadlines, row_dict

logger = logging.getLogger(__name__)

bp = Blueprint("audit", __name__)

STATUSES: Final = ("open", "closed", "error")
MAX_SEARCH: Final = 40
LIST_LIMIT: Final = 200
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
OUTBOX_FIELDS: Final = (
    "channel",
    "recipient",
    "kind",
    "body",
    "status",
    "created_at",
    "sent_at",
    "attempts",
)
BREACH_FIELDS: Final = ("rule", "kind", "unit", "at")


@bp.get("/cases")
@roles_required(*AUDIT_ROLES)
def cases() -> ResponseReturnValue:
    status = request.args.get("status", "").strip()
    key = request.args.get("q", "").strip()

    if key:
        if len(key) > MAX_SEARCH or _CONTROL.search(key):
            flash(t("audit.bad_search"), "error")
            key = ""
        else:
            with reading() as session:
                case_id = queries.find_case(session, key)
            if case_id is not None:
                return redirect(url_for("audit.case_page", case_id=case_id))
            flash(t("audit.not_found", key=key), "error")

    if status and status not in STATUSES:
        flash(t("audit.bad_status", status=status), "error")
        status = ""
    with reading() as session:
        found = queries.cases(session, status=status or None, limit=LIST_LIMIT)
    return render_template(
        "audit/cases.html", cases=found, status=status, statuses=STATUSES, key=key
    )


@bp.get("/cases/<int:case_id>")
@roles_required(*AUDIT_ROLES)
def case_page(case_id: int) -> ResponseReturnValue:
    with reading() as session:
        case = queries.case(session, case_id)
        tasks = queries.case_tasks(session, case_id)
        outbox = [row_dict(m, OUTBOX_FIELDS) for m in queries.outbox(session, case_id)]
        breaches = [
            row_dict(b, BREACH_FIELDS) for b in queries.breaches(session, case_id)
        ]
        events, chain = queries.audit_trail(session, case_id)
    moment = now()
    return render_template(
        "audit/case.html",
        case=case,
        tasks=tasks,
        outbox=outbox,
        breaches=breaches,
        events=events,
        chain=chain,
        deadlines=all_deadlines(case.deadlines, moment),
        now=moment,
    )
