"""Recording a complaint through the intake page."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Browser, Driver


def test_intake_creates_a_case_and_redirects_to_it(
    browser: Browser, drive: Driver, complaint: dict[str, str]
) -> None:
    browser.login("kefu")

    response = browser.post("/intake", complaint)

    assert response.status_code == 302
    location = response.headers["Location"]
    case_id = int(location.rsplit("/", 1)[1])
    case = drive.case(case_id)
    assert case.waybill_no == complaint["waybill_no"]
    assert [t.spec_name for t in drive.tasks(case_id)] == ["verify"]
    page = browser.get(location).get_data(as_text=True)
    assert f"已登记工单 {case.work_order_no}" in page


def test_intake_with_a_chosen_unit_keeps_it(browser: Browser, drive: Driver) -> None:
    browser.login("gongdan")

    case_id = browser.file_complaint(unit="上海浦东营业部")

    assert drive.case(case_id).unit == "上海浦东营业部"


def test_invalid_intake_shows_field_errors_and_keeps_values(
    browser: Browser, complaint: dict[str, str]
) -> None:
    browser.login("kefu")

    response = browser.post(
        "/intake", {**complaint, "complainant_phone": "call me", "category": "weather"}
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="err-complainant_phone"' in page
    assert "请填写有效的联系电话" in page
    assert 'id="err-category"' in page
    assert 'value="call me"' in page
    assert 'value="张三丰"' in page


def test_email_channel_needs_an_address(
    browser: Browser, complaint: dict[str, str]
) -> None:
    browser.login("kefu")

    response = browser.post("/intake", {**complaint, "channel": "email"})

    assert response.status_code == 422
    assert "邮件渠道的投诉需要邮箱地址" in response.get_data(as_text=True)
