"""The case list, search, and the case page with its audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Browser, Driver


def test_case_page_lists_events_and_reports_the_chain_intact(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    drive.through(case_id, "verify")
    browser.login("shenji")

    page = browser.get(f"/cases/{case_id}?lang=en").get_data(as_text=True)

    assert "Hash chain intact" in page
    assert "chain-ok" in page
    assert "<code>received</code>" in page
    assert "Task completed" in page
    assert "&#34;verification&#34;: &#34;verified&#34;" in page
    assert "gongdan" in page


def test_case_page_shows_header_tasks_and_outbox(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    browser.login("gongdan")

    page = browser.get(f"/cases/{case_id}").get_data(as_text=True)

    assert "15分钟内核实 Verify" in page  # current step and open task
    assert "核实时限" in page and "计时中" in page
    assert "v1" in page
    assert "您的投诉已受理" in page  # the acknowledgement in the outbox
    assert "138****5678" in page
    assert "13812345678" not in page


def test_search_by_work_order_number_opens_the_case(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    number = drive.case(case_id).work_order_no
    browser.login("shenji")

    response = browser.get(f"/cases?q={number.lower()}")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case_id}"


def test_search_for_an_unknown_number_says_so(browser: Browser, case_id: int) -> None:
    browser.login("shenji")

    page = browser.get("/cases?q=GD0000").get_data(as_text=True)

    assert "没有找到工单“GD0000”" in page


def test_case_list_filters_by_status(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    number = drive.case(case_id).work_order_no
    browser.login("shenji")

    assert number in browser.get("/cases?status=open").get_data(as_text=True)
    assert number not in browser.get("/cases?status=closed").get_data(as_text=True)
    unknown = browser.get("/cases?status=nonsense").get_data(as_text=True)
    assert "状态“nonsense”无效" in unknown
    assert number in unknown


def test_handler_may_not_open_the_audit_pages(browser: Browser, case_id: int) -> None:
    browser.login("chuli_ba")

    assert browser.get("/cases").status_code == 403
    assert browser.get(f"/cases/{case_id}").status_code == 403


def test_missing_case_is_a_404_page(browser: Browser) -> None:
    browser.login("shenji")

    response = browser.get("/cases/999")

    assert response.status_code == 404
    assert "找不到投诉 999" in response.get_data(as_text=True)
