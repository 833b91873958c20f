"""The JSON API: session sign-in, queries, commands, errors as JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

if TYPE_CHECKING:
    from conftest import Browser, Driver


NESTED_COMPLAINT: dict[str, Any] = {
    "channel": "email",
    "waybill_no": "SF7543231948757",
    "complainant": {
        "name": "林娜",
        "phone": "19900000002",
        "email": "user02@example.com",
    },
    "category": "damage",
    "severity": "high",
    "description": "收到的显示器外箱完好但屏幕碎裂。",
}


def api_login(client: FlaskClient, username: str) -> TestResponse:
    response = client.post(
        "/api/login", json={"username": username, "password": "demo"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_status_returns_the_three_keys(browser: Browser, case_id: int) -> None:
    api_login(browser.client, "shenji")

    body = browser.get("/api/status").get_json()

    assert set(body) == {"cases", "open_tasks", "audit_events"}
    assert body["cases"]["open"] == 1
    assert body["audit_events"] > 0


def test_api_needs_a_session(browser: Browser) -> None:
    response = browser.get("/api/status")

    assert response.status_code == 401
    assert response.get_json()["ok"] is False


def test_api_login_with_a_wrong_password_is_401(browser: Browser) -> None:
    response = browser.client.post(
        "/api/login", json={"username": "kefu", "password": "x"}
    )

    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_json()["message"]


def test_api_post_without_json_or_fetch_header_is_refused(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    api_login(browser.client, "gongdan")
    verify = drive.task(case_id, "verify")

    form_post = browser.client.post(f"/api/tasks/{verify.id}/claim", data={"x": "1"})
    assert form_post.status_code == 400
    assert "X-Requested-With" in form_post.get_json()["message"]
    assert drive.task(case_id, "verify").assignee is None

    fetch_post = browser.client.post(
        f"/api/tasks/{verify.id}/claim", headers={"X-Requested-With": "fetch"}
    )
    assert fetch_post.status_code == 200
    assert drive.task(case_id, "verify").assignee == "gongdan"


def test_api_complaint_claim_and_complete(browser: Browser, drive: Driver) -> None:
    api_login(browser.client, "gongdan")

    created = browser.client.post("/api/complaints", json=NESTED_COMPLAINT)
    assert created.status_code == 201
    case_id = created.get_json()["case_id"]
    assert created.get_json()["work_order_no"].startswith("GD")

    inbox = browser.get("/api/inbox").get_json()
    task = next(t for t in inbox["tasks"] if t["case_id"] == case_id)
    assert task["spec_name"] == "verify" and task["overdue"] is False

    claimed = browser.client.post(f"/api/tasks/{task['id']}/claim", json={})
    assert claimed.get_json()["ok"] is True

    invalid = browser.client.post(
        f"/api/tasks/{task['id']}/complete", json={"verification": "maybe"}
    )
    assert invalid.status_code == 422
    assert "verification" in invalid.get_json()["errors"]

    done = browser.client.post(
        f"/api/tasks/{task['id']}/complete", json={"verification": "verified"}
    )
    assert done.status_code == 200
    assert [t.spec_name for t in drive.tasks(case_id)] == ["sign"]


def test_api_complaint_with_invalid_fields_is_422(browser: Browser) -> None:
    api_login(browser.client, "kefu")

    response = browser.client.post(
        "/api/complaints", json={**NESTED_COMPLAINT, "waybill_no": "??"}
    )

    assert response.status_code == 422
    assert "waybill_no" in response.get_json()["errors"]


def test_api_case_has_audit_and_chain(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    api_login(browser.client, "shenji")

    body = browser.get(f"/api/cases/{case_id}").get_json()

    assert body["case"]["work_order_no"] == drive.case(case_id).work_order_no
    assert body["chain"]["ok"] is True
    assert body["audit"][0]["kind"] == "received"
    assert body["tasks"][0]["spec_name"] == "verify"


def test_api_wall_is_public_and_masked(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    drive.through(case_id, "verify", "sign")

    response = browser.get("/api/wall")

    entry = response.get_json()["entries"][0]
    assert entry["complainant"] == "张**"
    assert entry["verify_by"]["state"] == "met"
    assert "13812345678" not in json.dumps(response.get_json())


def test_api_errors_are_json(browser: Browser) -> None:
    api_login(browser.client, "gongdan")

    missing = browser.client.post("/api/tasks/nope/claim", json={})

    assert missing.status_code == 404
    body = missing.get_json()
    assert "No open task 'nope' exists." in body.pop("message")
    assert body == {
        "ok": False,
        "status": 404,
        "error": "NotFoundError",
    }
