"""Database tables: definitions, cases, and the projections kept beside them.

A *definition* is a deployed, versioned set of process files; a *case* is one
complaint's running instance, pinned to the definition it started on. The
inbox, the wall and the reports read the projection tables only; nothing that
answers a query deserializes a workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .clock import ensure_utc


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        return ensure_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        return ensure_utc(value)

    def load_dialect_impl(self, dialect: Any) -> Any:
        # Stored without zone everywhere; the value is always UTC.
        return dialect.type_descriptor(DateTime(timezone=False))


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Definition(Base):
    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, Any]]
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")


class Case(Base):
    __tablename__ = "cases"
    # One case per complaint: the same waybill complained about at the same
    # moment is the same complaint arriving twice (a repeated import).
    __table_args__ = (UniqueConstraint("waybill_no", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    work_order_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    close_reason: Mapped[str | None] = mapped_column(String(200))
    current_step: Mapped[str] = mapped_column(String(400), default="")
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    deadlines: Mapped[dict[str, Any]] = mapped_column(default=dict)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unit: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    waybill_no: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(40))
    complainant_name: Mapped[str] = mapped_column(String(100))
    complainant_phone: Mapped[str] = mapped_column(String(40))
    complainant_email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default="")
    audit_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class OpenTask(Base):
    """A user task that is ready to be worked, one row per engine task."""

    __tablename__ = "open_tasks"
    __table_args__ = (Index("ix_open_tasks_role_unit", "role", "unit"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    spec_name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(40))
    # The unit whose staff may work the task; None when the role's scope is
    # the whole company (manifest.json, roles[].scope).
    unit: Mapped[str | None] = mapped_column(String(100))
    form_name: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    assignee_name: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    ready_since: Mapped[datetime]
    due_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only evidence; each row carries the hash of the previous one."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int]
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """A message to a customer, written with the command, sent by a worker."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Notification(Base):
    """A message to staff: a role within a unit (or company-wide)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Breach(Base):
    """An SLA breach or a notice of criticism, recorded against a unit."""

    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit: Mapped[str] = mapped_column(String(100), index=True)
    rule: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]


class WallEntry(Base):
    """A claimed work order as the public wall shows it; personal data masked."""

    __tablename__ = "wall_entries"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    work_order_no: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(100))
    complainant_masked: Mapped[str] = mapped_column(String(100))
    phone_masked: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]
    posted_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    handler: Mapped[str | None] = mapped_column(String(100))
    signature: Mapped[str | None] = mapped_column(String(100))
    rating: Mapped[int | None]
    result_summary: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))

    @property
    def role_codes(self) -> tuple[str, ...]:
        return tuple(r for r in self.roles.split(",") if r)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
