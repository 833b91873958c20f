"""Shared fixtures: a fresh database per test, SQLite and (when enabled) PostgreSQL.

The PostgreSQL tests run when COMPLAINTS_TEST_POSTGRES_URL names a server; each
test gets its own schema, dropped afterwards. Without the variable they skip
with a reason; with COMPLAINTS_REQUIRE_POSTGRES=1 (as CI sets) an unreachable
server fails the run instead of skipping silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import engine
from engine import queries
from engine.users import find_staff

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
POSTGRES_URL = os.environ.get("COMPLAINTS_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("COMPLAINTS_REQUIRE_POSTGRES") == "1"

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def _postgres_schema_url(schema: str) -> str:
    assert POSTGRES_URL
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'complaints.sqlite3'}"
        return

    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL tests need COMPLAINTS_TEST_POSTGRES_URL (.ci/run sets it)"
        )
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        admin.dispose()
        if REQUIRE_POSTGRES:
            pytest.fail(
                f"PostgreSQL at {POSTGRES_URL} is required but unreachable: {exc}"
            )
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            # A test that leaked a transaction must fail here, not hang the run.
            conn.execute(text("SET lock_timeout = '20s'"))
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def clock() -> engine.FakeClock:
    return engine.FakeClock(START)


@pytest.fixture
def system(database_url: str, clock: engine.FakeClock) -> Iterator[engine.System]:
    opened = engine.open_system(
        engine.Settings(database_url=database_url, demo=True), clock=clock
    )
    yield opened
    opened.db.dispose()


SAMPLE = {
    "channel": "hotline",
    "waybill_no": "SF0166131860913",
    "complainant": {"name": "徐静", "phone": "19900000000", "email": None},
    "category": "loss",
    "severity": "high",
    "description": "快件丢失，物流信息停在中转场。",
}


class World:
    """Drives cases the way staff would, on a fake clock."""

    def __init__(self, system: engine.System, clock: engine.FakeClock) -> None:
        self.system = system
        self.engine = system.engine
        self.clock = clock

    def start(self, **overrides: Any) -> int:
        raw = {**SAMPLE, "received_at": self.clock.now().isoformat(), **overrides}
        intake = engine.parse_intake(raw, now=self.clock.now())
        return self.engine.start_case(intake, actor=self.user("kefu"))

    def user(self, username: str) -> engine.Staff:
        with self.system.db.reading() as session:
            staff = find_staff(session, username)
        assert staff is not None, username
        return staff

    def handler_for(self, case_id: int, role: str = "handler") -> engine.Staff:
        unit = self.case(case_id).unit
        for name in ("ba", "th", "pd"):
            prefix = "chuli" if role == "handler" else "jingli"
            staff = self.user(f"{prefix}_{name}")
            if staff.unit == unit:
                return staff
        raise AssertionError(f"no {role} for {unit}")

    def case(self, case_id: int) -> queries.CaseView:
        with self.system.db.reading() as session:
            return queries.case(session, case_id)

    def open_tasks(self, case_id: int) -> list[queries.TaskView]:
        with self.system.db.reading() as session:
            return queries.case_tasks(session, case_id)

    def task_names(self, case_id: int) -> list[str]:
        return sorted(t.spec_name for t in self.open_tasks(case_id))

    def task(self, case_id: int, spec_name: str) -> queries.TaskView:
        found = [t for t in self.open_tasks(case_id) if t.spec_name == spec_name]
        assert found, f"{spec_name} is not open; open: {self.task_names(case_id)}"
        return found[0]

    def complete(
        self, case_id: int, spec_name: str, user: engine.Staff | str, **values: Any
    ) -> None:
        staff = self.user(user) if isinstance(user, str) else user
        task = self.task(case_id, spec_name)
        self.engine.claim(task.id, staff)
        self.engine.complete(task.id, staff, values)

    def advance(self, **delta: float) -> int:
        self.clock.advance(timedelta(**delta))
        return self.engine.fire_due_timers()

    def audit(self, case_id: int) -> list[queries.AuditView]:
        with self.system.db.reading() as session:
            events, check = queries.audit_trail(session, case_id)
        assert check.ok, check.reason
        return events

    def audit_kinds(self, case_id: int) -> list[str]:
        return [e.kind for e in self.audit(case_id)]

    def audit_steps(self, case_id: int) -> list[str]:
        return [e.step for e in self.audit(case_id) if e.step]

    # Paths through the lifecycle, each a paragraph of staff actions.

    def verify(self, case_id: int) -> None:
        self.complete(
            case_id,
            "verify",
            "gongdan",
            verification="verified",
            identity_checked="true",
            verify_note="身份已核实",
        )

    def sign_and_grade(self, case_id: int) -> None:
        handler = self.handler_for(case_id)
        self.complete(case_id, "sign", handler, sign_ack="true")
        self.complete(case_id, "grade", handler, nature="loss", severity="high")

    def handle(
        self,
        case_id: int,
        *,
        resolved: bool = True,
        spec_name: str = "handle",
        user: engine.Staff | None = None,
    ) -> None:
        self.complete(
            case_id,
            spec_name,
            user or self.handler_for(case_id),
            result="快件已找回并重新派送",
            responsible_party="中转场",
            measure_taken="通报批评",
            resolved="true" if resolved else "false",
        )

    def reply_confirm_rate(self, case_id: int) -> None:
        self.complete(
            case_id,
            "reply",
            "kefu",
            reply_channel="sms",
            reply_text="您的快件已找回，今日送达。",
            suggestion_adopted="false",
        )
        self.complete(case_id, "confirm", self.handler_for(case_id), confirm_ack="true")
        self.complete(case_id, "rate", self.handler_for(case_id, "manager"), rating="4")


@pytest.fixture
def world(system: engine.System, clock: engine.FakeClock) -> World:
    return World(system, clock)
