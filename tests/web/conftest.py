"""Fixtures for the web tests: a fresh app and database per test, a fake clock.

Test modules import names from here only for type checking; everything they
use at run time comes through fixtures.

``browser`` is a test client that knows the demo users and puts the session's
CSRF token into every form it posts; ``drive`` moves a case along through the
engine directly, for tests about what comes later in the lifecycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import engine
from engine import queries
from web import create_app

START = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)  # 08:00 in Shanghai
HANDLERS = ("chuli_ba", "chuli_th", "chuli_pd")

COMPLAINT: dict[str, str] = {
    "channel": "hotline",
    "waybill_no": "SF0166131860913",
    "complainant_name": "张三丰",
    "complainant_phone": "13812345678",
    "complainant_email": "",
    "category": "delay",
    "severity": "medium",
    "description": "快件承诺次日达，已经第三天了还没到。",
    "unit": "",
}

# Form values that move a case from one user task to the next.
STEP_VALUES: dict[str, dict[str, Any]] = {
    "verify": {"verification": "verified", "identity_checked": True},
    "sign": {"sign_ack": True},
    "grade": {"nature": "delay", "severity": "medium"},
    "handle": {
        "result": "已赔付并致歉。",
        "responsible_party": "宝安网点",
        "measure_taken": "赔偿运费",
        "resolved": True,
    },
}


@pytest.fixture
def complaint() -> dict[str, str]:
    """The intake form of a valid complaint (unit empty: routed by waybill)."""
    return dict(COMPLAINT)


@pytest.fixture
def clock() -> engine.FakeClock:
    return engine.FakeClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: engine.FakeClock) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'complaints.sqlite3'}",
            "SWEEPER": False,
            "DEMO": True,
            "CLOCK": clock,
        }
    )
    yield app
    app.extensions["complaints"].db.dispose()


@pytest.fixture
def system(app: Flask) -> engine.System:
    return app.extensions["complaints"]


class Browser:
    """A test client that signs in as demo users and posts forms with CSRF."""

    def __init__(self, client: FlaskClient, system: engine.System) -> None:
        self.client = client
        self.system = system

    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            token = session.setdefault("csrf", "test-csrf-token")
        return str(token)

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.client.get(url, **kwargs)

    def post(
        self, url: str, data: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> TestResponse:
        form = {"csrf_token": self.csrf(), **(data or {})}
        return self.client.post(url, data=form, **kwargs)

    def login(self, username: str, password: str = "demo") -> TestResponse:
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self) -> None:
        self.post("/logout")

    def file_complaint(self, **changes: str) -> int:
        """Record a complaint through the intake page; return its case id."""
        response = self.post("/intake", {**COMPLAINT, **changes})
        assert response.status_code == 302, response.get_data(as_text=True)
        match = re.search(r"/cases/(\d+)$", response.headers["Location"])
        assert match, response.headers["Location"]
        return int(match.group(1))


@pytest.fixture
def browser(app: Flask, system: engine.System) -> Browser:
    return Browser(app.test_client(), system)


class Driver:
    """Moves a case along through the engine, as the right users."""

    def __init__(self, system: engine.System) -> None:
        self.system = system

    def staff(self, username: str) -> engine.Staff:
        with self.system.db.reading() as session:
            staff = engine.find_staff(session, username)
        assert staff is not None, username
        return staff

    def tasks(self, case_id: int) -> list[queries.TaskView]:
        with self.system.db.reading() as session:
            return queries.case_tasks(session, case_id)

    def task(self, case_id: int, spec_name: str) -> queries.TaskView:
        found = [t for t in self.tasks(case_id) if t.spec_name == spec_name]
        assert found, f"no open {spec_name} task in {self.tasks(case_id)}"
        return found[0]

    def case(self, case_id: int) -> queries.CaseView:
        with self.system.db.reading() as session:
            return queries.case(session, case_id)

    def handler_for(self, case_id: int) -> str:
        """The demo handler whose unit the case was routed to."""
        unit = self.case(case_id).unit
        for username in HANDLERS:
            if self.staff(username).unit == unit:
                return username
        raise AssertionError(f"no demo handler works for {unit}")

    def user_for(self, case_id: int, spec_name: str) -> str:
        role = self.task(case_id, spec_name).role
        if role == "work_order_centre":
            return "gongdan"
        if role == "customer_service":
            return "kefu"
        return self.handler_for(case_id)

    def complete(self, case_id: int, spec_name: str) -> None:
        task = self.task(case_id, spec_name)
        user = self.staff(self.user_for(case_id, spec_name))
        self.system.engine.complete(task.id, user, STEP_VALUES[spec_name])

    def through(self, case_id: int, *spec_names: str) -> None:
        for spec_name in spec_names:
            self.complete(case_id, spec_name)


@pytest.fixture
def drive(system: engine.System) -> Driver:
    return Driver(system)


@pytest.fixture
def case_id(browser: Browser) -> int:
    """One complaint recorded by customer service; the browser is signed out."""
    browser.login("kefu")
    created = browser.file_complaint()
    browser.logout()
    return created
