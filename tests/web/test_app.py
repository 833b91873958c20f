"""The app factory, health check, and the presentation helpers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

import engine
from web import create_app
from web.presenters import deadline, localtime, stars

if TYPE_CHECKING:
    from conftest import Browser


NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def test_healthz_checks_the_database(browser: Browser) -> None:
    response = browser.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"ok": True}


def test_the_system_is_opened_once_per_app(app: Flask) -> None:
    first = app.extensions["complaints"]
    app.test_client().get("/wall")

    assert app.extensions["complaints"] is first
    assert isinstance(first, engine.System)


def test_sweeper_runs_when_asked_for(tmp_path: Path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
            "SWEEP_INTERVAL": 3600,
            "CLOCK": engine.FakeClock(NOW),
        }
    )
    sweeper = app.extensions["complaints_sweeper"]
    try:
        assert isinstance(sweeper, engine.Sweeper)
        assert "timer-sweeper" in {thread.name for thread in threading.enumerate()}
    finally:
        sweeper.stop()
        app.extensions["complaints"].db.dispose()


@pytest.mark.parametrize(
    "value, expected",
    [
        (datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc), "2026-11-01 08:00"),
        (datetime(2026, 10, 31, 23, 30), "2026-11-01 07:30"),  # naive means UTC
        ("2026-11-01T16:00:00+00:00", "2026-11-02 00:00"),
        ("2026-11-01T08:00:00+08:00", "2026-11-01 08:00"),
        (None, "—"),
        ("not a time", "not a time"),
    ],
)
def test_localtime_shows_beijing_time(value: Any, expected: str) -> None:
    assert localtime(value) == expected


@pytest.mark.parametrize(
    "entry, overdue",
    [
        ({"due": (NOW + timedelta(minutes=1)).isoformat(), "state": "waiting"}, False),
        ({"due": (NOW - timedelta(minutes=1)).isoformat(), "state": "waiting"}, True),
        ({"due": (NOW - timedelta(minutes=1)).isoformat(), "state": "met"}, False),
        ({"due": (NOW + timedelta(minutes=1)).isoformat(), "state": "missed"}, True),
        (None, False),
    ],
)
def test_deadline_is_overdue_when_missed_or_waiting_past_due(
    entry: Any, overdue: bool
) -> None:
    deadlines = {"verify_by": entry} if entry else {}

    assert deadline(deadlines, "verify_by", NOW).overdue is overdue


@pytest.mark.parametrize(
    "rating, expected",
    [
        (None, ""),
        (0, "☆☆☆☆☆"),
        (3, "★★★☆☆"),
        (5, "★★★★★"),
        (9, "★★★★★"),
    ],
)
def test_stars(rating: int | None, expected: str) -> None:
    assert stars(rating) == expected
