"""Putting the engine together: database, clock, definitions, demo data.

``open_system`` is what the web app, the command line and the workers call; it
makes sure the tables exist, the processes folder is deployed and, in demo
mode, that the demo users exist and the demo clock is in use.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from .clock import Clock, OffsetClock, SystemClock
from .db import Database
from .errors import DemoModeError, InputError
from .intake import parse_intake, read_jsonl, shift_to_now
from .models import Setting
from .service import PROCESSES_DIR, Engine
from .users import ensure_demo_users

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///instance/complaints.sqlite3"
CLOCK_OFFSET_KEY = "demo_clock_offset_seconds"
MAX_DEMO_TIME = datetime(2100, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    demo: bool = False
    processes_dir: Path = PROCESSES_DIR

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            demo=os.environ.get("COMPLAINTS_DEMO", "0").lower() in ("1", "true", "yes"),
        )


class DemoOffset:
    """Reads the demo clock offset from the database, at most once a second."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cached = timedelta(0)
        self._read_at = 0.0

    def __call__(self) -> timedelta:
        if time.monotonic() - self._read_at > 1.0:
            self._cached = read_clock_offset(self._db)
            self._read_at = time.monotonic()
        return self._cached

    def forget(self) -> None:
        self._read_at = 0.0


@dataclass
class System:
    settings: Settings
    db: Database
    engine: Engine
    demo_offset: DemoOffset | None = field(default=None)

    def advance_clock(self, delta: timedelta) -> datetime:
        """Move the demo clock forward; refused unless demo mode is on."""
        if not self.settings.demo or self.demo_offset is None:
            raise DemoModeError(
                "只有演示模式下才能调整时钟。 The clock can only be moved in demo mode "
                "(COMPLAINTS_DEMO=1)."
            )
        if delta < timedelta(0):
            raise InputError("演示时钟只能向前拨。 The demo clock only moves forward.")
        if delta > MAX_DEMO_TIME - self.engine.clock.now():
            raise InputError(
                "演示时钟不能拨到2100年以后。 The demo clock cannot move past the "
                "year 2100."
            )
        with self.db.transaction() as session:
            row = session.get(Setting, CLOCK_OFFSET_KEY)
            current = float(row.value) if row else 0.0
            value = str(current + delta.total_seconds())
            if row is None:
                session.add(Setting(key=CLOCK_OFFSET_KEY, value=value))
            else:
                row.value = value
        self.demo_offset.forget()
        return self.engine.clock.now()


def read_clock_offset(db: Database) -> timedelta:
    with db.reading() as session:
        value = session.scalar(
            select(Setting.value).where(Setting.key == CLOCK_OFFSET_KEY)
        )
    return timedelta(seconds=float(value)) if value else timedelta(0)


def open_system(
    settings: Settings | None = None, *, clock: Clock | None = None
) -> System:
    settings = settings or Settings.from_env()
    _ensure_sqlite_folder(settings.database_url)
    db = Database(settings.database_url)

    demo_offset = None
    if clock is None:
        if settings.demo:
            demo_offset = DemoOffset(db)
            clock = OffsetClock(demo_offset)
        else:
            clock = SystemClock()

    engine = Engine(db, clock)
    _deploy_bundled(engine, settings.processes_dir)
    if settings.demo:
        with db.transaction() as session:
            ensure_demo_users(session)
    return System(settings, db, engine, demo_offset)


def _deploy_bundled(engine: Engine, folder: Path) -> None:
    """Deploy the processes folder into an empty database, and only then.

    Afterwards versions come from ``complaints deploy`` only, so restarting a
    server never replaces what an analyst deployed.
    """
    if engine.deployed_version() is None:
        engine.deploy_folder(folder)
        return
    version, _ = engine.check_folder(folder)
    if version is None:
        logger.warning(
            "The processes folder differs from every deployed version; "
            "run 'complaints deploy' to use it",
            extra={"folder": str(folder)},
        )


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


@dataclass
class ImportReport:
    started: list[int] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def import_complaints(
    system: System, text: str, *, shift: bool = False
) -> ImportReport:
    """Start a case for each line of a JSONL file; report lines that failed.

    With ``shift`` the times move so the newest complaint arrives now (the demo
    data set); without it they are kept and overdue timers fire at the next tick.
    """
    report = ImportReport()
    rows: list[tuple[int, dict[str, object]]] = []
    for number, row, error in read_jsonl(text):
        if error or row is None:
            report.rejected.append(error or f"line {number} is empty")
        else:
            rows.append((number, row))

    now = system.engine.clock.now()
    if shift:
        try:
            shifted = shift_to_now([dict(r) for _, r in rows], now)
            rows = [(n, s) for (n, _), s in zip(rows, shifted)]
        except (KeyError, ValueError, TypeError):
            pass  # a line without a usable time is reported by parse_intake below

    for number, row in rows:
        try:
            intake = parse_intake(row, now=now)
            if system.engine.find_duplicate(intake) is not None:
                report.rejected.append(
                    f"line {number}: already imported (same waybill and time)"
                )
                continue
            report.started.append(system.engine.start_case(intake))
        except InputError as exc:
            fields = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
            report.rejected.append(f"line {number}: {fields or exc}")
    return report


def demo_complaints() -> str:
    """The bundled sample complaints (40 fictitious records)."""
    return (
        resources.files("engine").joinpath("demo/complaints.jsonl").read_text("utf-8")
    )
