"""The public wall: signed-for orders only, masked, deadlines plainly overdue."""

from __future__ import annotations

from datetime import timedelta

from typing import TYPE_CHECKING

import engine

if TYPE_CHECKING:
    from conftest import Browser, Driver


def test_wall_is_public_and_empty_before_anyone_signs(
    browser: Browser, case_id: int
) -> None:
    response = browser.get("/wall")

    assert response.status_code == 200
    assert "暂无已签收的工单" in response.get_data(as_text=True)


def test_wall_shows_masked_data_only_after_a_handler_signed(
    browser: Browser, drive: Driver, complaint: dict[str, str], case_id: int
) -> None:
    drive.through(case_id, "verify", "sign")

    page = browser.get("/wall").get_data(as_text=True)

    assert drive.case(case_id).work_order_no in page
    assert "张**" in page
    assert "138****5678" in page
    assert complaint["complainant_name"] not in page
    assert complaint["complainant_phone"] not in page
    assert complaint["description"] not in page
    assert "延误" in page and "处理中" in page
    assert drive.staff(drive.handler_for(case_id)).display_name in page


def test_wall_tv_mode_refreshes_without_navigation(
    browser: Browser, drive: Driver, complaint: dict[str, str], case_id: int
) -> None:
    drive.through(case_id, "verify", "sign")

    page = browser.get("/wall/tv").get_data(as_text=True)

    assert '<meta http-equiv="refresh" content="20; url=/wall/tv?page=1">' in page
    assert 'class="tv"' in page
    assert 'class="topbar"' not in page
    assert drive.case(case_id).work_order_no in page
    assert complaint["complainant_name"] not in page


def test_wall_tv_mode_pages_through_every_order(
    browser: Browser, drive: Driver, complaint: dict[str, str], case_id: int
) -> None:
    drive.through(case_id, "verify", "sign")

    # An out-of-range page falls back to the first, which holds the order.
    page = browser.get("/wall/tv?page=99").get_data(as_text=True)

    assert drive.case(case_id).work_order_no in page
    assert "1 / 1" in page


def test_wall_marks_a_passed_handling_deadline_overdue(
    browser: Browser,
    drive: Driver,
    clock: engine.FakeClock,
    system: engine.System,
    case_id: int,
) -> None:
    drive.through(case_id, "verify", "sign")
    assert "已超时" not in browser.get("/wall").get_data(as_text=True)

    # Past 24 hours, before and after the sweeper fires the timer.
    clock.advance(timedelta(hours=25))
    assert "已超时" in browser.get("/wall").get_data(as_text=True)

    system.engine.fire_due_timers()
    page = browser.get("/wall").get_data(as_text=True)
    assert "已超时" in page
    assert "已升级" in page


def test_wall_shows_result_signature_and_rating_after_publication(
    browser: Browser, drive: Driver, system: engine.System, case_id: int
) -> None:
    drive.through(case_id, "verify", "sign", "grade", "handle")
    handler = drive.handler_for(case_id)
    manager = handler.replace("chuli", "jingli")
    steps = [
        ("reply", "kefu", {"reply_channel": "sms", "reply_text": "已为您赔付运费。"}),
        ("confirm", handler, {"confirm_ack": True}),
        ("rate", manager, {"rating": 4}),
    ]
    for spec_name, username, values in steps:
        task = drive.task(case_id, spec_name)
        system.engine.complete(task.id, drive.staff(username), values)

    page = browser.get("/wall?lang=en").get_data(as_text=True)

    assert "★★★★☆" in page
    assert "已赔付并致歉。" in page
    assert "Published" in page
    assert f"<td>{drive.staff(handler).display_name}</td>" in page
