"""Hostile input is escaped or refused with a message, never a 500."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Browser, Driver

SCRIPT = "<script>alert('x')</script>"
HUGE = "投" * 50_000
NUL = "张\x00三"


def test_script_in_a_description_is_escaped(browser: Browser, drive: Driver) -> None:
    browser.login("kefu")
    case_id = browser.file_complaint(description=SCRIPT)
    browser.logout()
    browser.login("gongdan")

    case_page = browser.get(f"/cases/{case_id}").get_data(as_text=True)
    task_id = drive.task(case_id, "verify").id
    task_page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)

    for page in (case_page, task_page):
        assert SCRIPT not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_script_in_a_form_value_is_escaped_in_the_audit_trail(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")
    browser.post(
        f"/tasks/{verify.id}/complete",
        {"verification": "verified", "verify_note": SCRIPT},
    )

    page = browser.get(f"/cases/{case_id}").get_data(as_text=True)

    assert SCRIPT not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("field", ["description", "complainant_name", "waybill_no"])
def test_a_50000_character_intake_field_is_refused(
    browser: Browser, complaint: dict[str, str], field: str
) -> None:
    browser.login("kefu")

    response = browser.post("/intake", {**complaint, field: HUGE})

    assert response.status_code == 422
    assert f'id="err-{field}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["description", "complainant_name", "category"])
def test_nul_characters_in_intake_are_refused(
    browser: Browser, complaint: dict[str, str], field: str
) -> None:
    browser.login("kefu")

    response = browser.post("/intake", {**complaint, field: NUL})

    assert response.status_code == 422
    assert f'id="err-{field}"' in response.get_data(as_text=True)
    assert "\x00" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "value, message",
    [
        (HUGE, "最多只能输入 2000 个字符"),
        ("备注\x00", "不能含有控制字符"),
    ],
)
def test_hostile_task_form_values_are_refused(
    browser: Browser, drive: Driver, case_id: int, value: str, message: str
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    response = browser.post(
        f"/tasks/{verify.id}/complete",
        {"verification": "verified", "verify_note": value},
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert drive.task(case_id, "verify").id == verify.id


def test_duplicate_values_for_one_field_are_refused(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    response = browser.post(
        f"/tasks/{verify.id}/complete", {"verification": ["verified", "unverifiable"]}
    )

    assert response.status_code == 422
    assert "此项只能提交一个值" in response.get_data(as_text=True)


def test_nul_and_huge_search_keys_get_a_message(browser: Browser) -> None:
    browser.login("shenji")

    for key in ("GD\x00001", "9" * 5000):
        response = browser.get("/cases", query_string={"q": key})
        assert response.status_code == 200
        assert "请输入不超过40个字符" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "username, password",
    [
        ("kefu\x00", "demo"),
        ("k" * 50_000, "demo"),
        ("kefu", "d\x00emo"),
    ],
)
def test_hostile_login_input_is_refused(
    browser: Browser, username: str, password: str
) -> None:
    response = browser.post("/login", {"username": username, "password": password})

    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_deeply_nested_json_is_refused(browser: Browser) -> None:
    body = "[" * 100_000 + "]" * 100_000

    response = browser.client.post(
        "/api/login", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]


def test_an_oversized_request_is_413(
    browser: Browser, complaint: dict[str, str]
) -> None:
    browser.login("kefu")

    response = browser.post("/intake", {**complaint, "description": "x" * 2_000_000})

    assert response.status_code == 413


def test_unknown_page_is_a_404_page_or_json(browser: Browser) -> None:
    page = browser.get("/no/such/page")
    as_json = browser.get("/no/such/page", headers={"Accept": "application/json"})

    assert page.status_code == 404
    assert "没有这个页面" in page.get_data(as_text=True)
    assert as_json.status_code == 404
    assert as_json.get_json()["status"] == 404


def test_wrong_method_is_a_405_with_allow(browser: Browser) -> None:
    response = browser.client.delete("/wall")

    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "DELETE" in response.get_data(as_text=True)
