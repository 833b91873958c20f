"""Read models for the web app and the command line, from projection rows only.

Nothing here deserializes a workflow; every answer comes from indexed rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .audit import ChainCheck, verify_chain
from .errors import NotFoundError
from .masking import mask_email, mask_name, mask_phone
from .models import (
    AuditEvent,
    Breach,
    Case,
    Definition,
    Notification,
    OpenTask,
    OutboxMessage,
    WallEntry,
)
from .users import Staff

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Roles that talk to the complainant and so see their unmasked contact details.
CONTACT_ROLES = ("customer_service", "work_order_centre")


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str | None


@dataclass(frozen=True, slots=True)
class TaskView:
    id: str
    case_id: int
    work_order_no: str | None
    spec_name: str
    title: str
    role: str
    unit: str
    form_name: str | None
    assignee: str | None
    assignee_name: str | None
    ready_since: datetime
    due_at: datetime | None
    category: str
    severity: str

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and self.due_at <= now


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    work_order_no: str | None
    status: str
    close_reason: str | None
    current_step: str
    next_due_at: datetime | None
    deadlines: dict[str, Any]
    facts: dict[str, Any]
    unit: str
    channel: str
    waybill_no: str
    category: str
    severity: str
    complainant_masked: str
    phone_masked: str
    email_masked: str
    description: str
    received_at: datetime
    closed_at: datetime | None
    error_message: str | None
    definition_version: int


@dataclass(frozen=True, slots=True)
class AuditView:
    seq: int
    at: datetime
    actor: str
    kind: str
    step: str | None
    title: str
    detail: dict[str, Any]
    hash: str


@dataclass(frozen=True, slots=True)
class WallView:
    case_id: int
    work_order_no: str
    category: str
    unit: str
    complainant_masked: str
    phone_masked: str
    received_at: datetime
    posted_at: datetime
    status: str
    handler: str | None
    signature: str | None
    rating: int | None
    result_summary: str | None
    deadlines: dict[str, Any]


def inbox(session: Session, user: Staff) -> list[TaskView]:
    """Open tasks of the user's roles; a unit-scoped task only for its unit.

    Tasks of a case stopped by an engine error are left out: nobody can work
    them until the case is repaired.
    """
    if not user.roles:
        return []
    rows = session.execute(
        select(OpenTask, Case)
        .join(Case, Case.id == OpenTask.case_id)
        .where(
            OpenTask.role.in_(user.roles),
            _in_unit(OpenTask.unit, user),
            Case.status != "error",
        )
        .order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.ready_since)
    ).all()
    return [_task_view(task, case) for task, case in rows]


def is_task_id(task_id: str) -> bool:
    """Whether ``task_id`` has the shape of an engine task id (a UUID)."""
    return bool(_UUID.fullmatch(task_id))


def task(session: Session, task_id: str) -> TaskView:
    if not is_task_id(task_id):
        raise NotFoundError("open task", task_id[:40])
    row = session.execute(
        select(OpenTask, Case)
        .join(Case, Case.id == OpenTask.case_id)
        .where(OpenTask.id == task_id)
    ).first()
    if row is None:
        raise NotFoundError("open task", task_id)
    return _task_view(*row)


def case_tasks(session: Session, case_id: int) -> list[TaskView]:
    rows = session.execute(
        select(OpenTask, Case)
        .join(Case, Case.id == OpenTask.case_id)
        .where(OpenTask.case_id == case_id)
        .order_by(OpenTask.ready_since)
    ).all()
    return [_task_view(t, c) for t, c in rows]


# Ids at or above this are not ids any database here hands out (PostgreSQL's
# integer is 32 bits); refuse them early rather than let the driver overflow.
MAX_ID = 2**31


def case(session: Session, case_id: int) -> CaseView:
    if not 0 < case_id < MAX_ID:
        raise NotFoundError("case", case_id)
    row = session.execute(
        select(Case, Definition.version)
        .join(Definition, Definition.id == Case.definition_id)
        .where(Case.id == case_id)
    ).first()
    if row is None:
        raise NotFoundError("case", case_id)
    c, version = row
    return CaseView(
        id=c.id,
        work_order_no=c.work_order_no,
        status=c.status,
        close_reason=c.close_reason,
        current_step=c.current_step,
        next_due_at=c.next_due_at,
        deadlines=dict(c.deadlines or {}),
        facts=dict(c.facts or {}),
        unit=c.unit,
        channel=c.channel,
        waybill_no=c.waybill_no,
        category=c.category,
        severity=c.severity,
        complainant_masked=mask_name(c.complainant_name),
        phone_masked=mask_phone(c.complainant_phone),
        email_masked=mask_email(c.complainant_email),
        description=c.description,
        received_at=c.received_at,
        closed_at=c.closed_at,
        error_message=c.error_message,
        definition_version=version,
    )


def case_contact(session: Session, case_id: int, user: Staff) -> Contact | None:
    """The complainant's full contact details, for the roles that call them back."""
    if not any(user.has_role(role) for role in CONTACT_ROLES):
        return None
    found = session.get(Case, case_id)
    if found is None:
        raise NotFoundError("case", case_id)
    return Contact(
        found.complainant_name, found.complainant_phone, found.complainant_email
    )


def cases(
    session: Session, *, status: str | None = None, limit: int = 200, offset: int = 0
) -> list[CaseView]:
    query = (
        select(Case.id).order_by(Case.received_at.desc()).limit(limit).offset(offset)
    )
    if status:
        query = query.where(Case.status == status)
    return [case(session, case_id) for case_id in session.scalars(query).all()]


def find_case(session: Session, key: str) -> int | None:
    """A case id from its id or work-order number."""
    key = key.strip()
    if key.isdigit() and 0 < int(key) < MAX_ID:
        if session.get(Case, int(key)) is not None:
            return int(key)
    return session.scalar(select(Case.id).where(Case.work_order_no == key.upper()))


def audit_trail(session: Session, case_id: int) -> tuple[list[AuditView], ChainCheck]:
    if not 0 < case_id < MAX_ID:
        raise NotFoundError("case", case_id)
    head = session.scalar(select(Case.audit_head).where(Case.id == case_id))
    if head is None:
        raise NotFoundError("case", case_id)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
    ).all()
    views = [
        AuditView(e.seq, e.at, e.actor, e.kind, e.step, e.title, dict(e.detail), e.hash)
        for e in events
    ]
    return views, verify_chain(session, case_id, head)


def wall(session: Session, *, limit: int = 200) -> list[WallView]:
    rows = session.execute(
        select(WallEntry, Case.deadlines)
        .join(Case, Case.id == WallEntry.case_id)
        .order_by(WallEntry.posted_at.desc())
        .limit(limit)
    ).all()
    return [
        WallView(
            case_id=w.case_id,
            work_order_no=w.work_order_no,
            category=w.category,
            unit=w.unit,
            complainant_masked=w.complainant_masked,
            phone_masked=w.phone_masked,
            received_at=w.received_at,
            posted_at=w.posted_at,
            status=w.status,
            handler=w.handler,
            signature=w.signature,
            rating=w.rating,
            result_summary=w.result_summary,
            deadlines=dict(deadlines or {}),
        )
        for w, deadlines in rows
    ]


def notifications(
    session: Session, user: Staff, *, limit: int = 50
) -> list[Notification]:
    if not user.roles:
        return []
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.role.in_(user.roles), _in_unit(Notification.unit, user))
            .order_by(Notification.created_at.desc())
            .limit(limit)
        ).all()
    )


def outbox(session: Session, case_id: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.case_id == case_id)
            .order_by(OutboxMessage.id)
        ).all()
    )


def breaches(session: Session, case_id: int | None = None) -> list[Breach]:
    query = select(Breach).order_by(Breach.at)
    if case_id is not None:
        query = query.where(Breach.case_id == case_id)
    return list(session.scalars(query).all())


def status(session: Session) -> dict[str, Any]:
    """Counts for ``complaints status --json`` and the health page."""
    by_status = dict(
        session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
    )
    for name in ("open", "closed", "error"):
        by_status.setdefault(name, 0)

    tasks: Counter[str] = Counter()
    for spec_name, role, count in session.execute(
        select(OpenTask.spec_name, OpenTask.role, func.count()).group_by(
            OpenTask.spec_name, OpenTask.role
        )
    ):
        tasks[f"{spec_name}@{role}"] += count
    by_task = [
        {"task": key.split("@")[0], "role": key.split("@")[1], "count": count}
        for key, count in sorted(tasks.items())
    ]
    audit_count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return {
        "cases": by_status,
        "open_tasks": by_task,
        "audit_events": int(audit_count),
    }


def _in_unit(column: Any, user: Staff) -> ColumnElement[bool]:
    """Rows for everyone (no unit), or for the user's unit; all, for company staff."""
    if user.unit is None:
        return true()
    return or_(column.is_(None), column == user.unit)


def _task_view(task: OpenTask, case: Case) -> TaskView:
    return TaskView(
        id=task.id,
        case_id=task.case_id,
        work_order_no=case.work_order_no,
        spec_name=task.spec_name,
        title=task.title,
        role=task.role,
        unit=case.unit,
        form_name=task.form_name,
        assignee=task.assignee,
        assignee_name=task.assignee_name,
        ready_since=task.ready_since,
        due_at=task.due_at,
        category=case.category,
        severity=case.severity,
    )
