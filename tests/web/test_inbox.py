"""The inbox and the task page: who sees what, claim, complete, form errors."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import engine

if TYPE_CHECKING:
    from conftest import Browser, Driver


def test_inbox_shows_the_verify_task_to_the_work_order_centre(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    browser.login("gongdan")

    page = browser.get("/inbox").get_data(as_text=True)

    assert drive.case(case_id).work_order_no in page
    assert "15分钟内核实" in page
    assert "延误" in page
    assert "已超时" not in page


def test_handler_sees_no_work_order_centre_task(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login(drive.handler_for(case_id))

    assert verify.id not in browser.get("/inbox").get_data(as_text=True)
    assert browser.get(f"/tasks/{verify.id}").status_code == 403


def test_handler_sees_no_customer_service_task(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    drive.through(case_id, "verify", "sign", "grade", "handle")
    reply = drive.task(case_id, "reply")
    browser.login(drive.handler_for(case_id))

    page = browser.get("/inbox").get_data(as_text=True)

    assert reply.id not in page
    assert "回复客户" not in page
    assert browser.get(f"/tasks/{reply.id}").status_code == 403
    assert browser.post(f"/tasks/{reply.id}/claim").status_code == 403
    assert drive.task(case_id, "reply").assignee is None


def test_claim_and_complete_verify_moves_the_case_on(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    claimed = browser.post(f"/tasks/{verify.id}/claim")
    assert claimed.status_code == 302
    assert drive.task(case_id, "verify").assignee == "gongdan"
    assert "我已认领" in browser.get("/inbox").get_data(as_text=True)

    done = browser.post(
        f"/tasks/{verify.id}/complete",
        {"verification": "verified", "identity_checked": "true"},
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/inbox"
    assert [t.spec_name for t in drive.tasks(case_id)] == ["sign"]

    browser.logout()
    browser.login(drive.handler_for(case_id))
    page = browser.get("/inbox").get_data(as_text=True)
    assert "签收工单" in page
    assert drive.task(case_id, "sign").id in page


def test_sign_task_is_not_shown_to_handlers_of_other_units(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    drive.through(case_id, "verify")
    sign = drive.task(case_id, "sign")
    other = next(
        u
        for u in ("chuli_ba", "chuli_th", "chuli_pd")
        if u != drive.handler_for(case_id)
    )
    browser.login(other)

    assert sign.id not in browser.get("/inbox").get_data(as_text=True)
    assert browser.get(f"/tasks/{sign.id}").status_code == 403


def test_task_page_renders_every_field_of_the_form(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    page = browser.get(f"/tasks/{verify.id}").get_data(as_text=True)

    assert 'type="radio" name="verification" value="verified"' in page
    assert 'type="checkbox" id="field-identity_checked"' in page
    assert re.search(r'<textarea id="field-verify_note"[^>]*maxlength="2000"', page)
    assert re.search(
        r'<input type="text" id="field-authority"[^>]*maxlength="200"', page
    )
    assert "核实结果" in page and '<span class="req"' in page


def test_select_and_radio_fields_start_from_the_case_data(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    drive.through(case_id, "verify", "sign")
    grade = drive.task(case_id, "grade")
    browser.login(drive.handler_for(case_id))

    page = browser.get(f"/tasks/{grade.id}").get_data(as_text=True)

    assert re.search(r'<select id="field-nature" name="nature"', page)
    assert re.search(r'<option value="delay"\s+selected>延误</option>', page)
    assert re.search(r'name="severity" value="medium"\s+checked', page)


def test_task_page_in_english_uses_english_labels(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    page = browser.get(f"/tasks/{verify.id}?lang=en").get_data(as_text=True)

    assert "Verification outcome" in page
    assert "Cannot be verified" in page


def test_invalid_form_shows_the_error_and_keeps_the_values(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    response = browser.post(
        f"/tasks/{verify.id}/complete",
        {"verification": "unverifiable", "verify_note": "电话无人接听，身份无法确认"},
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="err-authority"' in page
    assert "此项为必填" in page
    assert "电话无人接听，身份无法确认</textarea>" in page
    assert re.search(r'value="unverifiable"\s+checked', page)
    assert drive.task(case_id, "verify").id == verify.id  # still open


def test_user_without_the_role_cannot_complete_a_task(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("kefu")

    response = browser.post(
        f"/tasks/{verify.id}/complete", {"verification": "verified"}
    )

    assert response.status_code == 403
    assert [t.spec_name for t in drive.tasks(case_id)] == ["verify"]


def test_releasing_an_unclaimed_task_flashes_the_reason(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    response = browser.post(f"/tasks/{verify.id}/release")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/tasks/{verify.id}"
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "只有认领人可以放弃认领" in page


def test_json_clients_get_the_task_state_error_status(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    response = browser.post(
        f"/tasks/{verify.id}/release", headers={"Accept": "application/json"}
    )

    assert response.status_code == 409
    assert response.get_json()["error"] == "TaskStateError"


def test_claim_release_round_trip_returns_to_next(
    browser: Browser, drive: Driver, case_id: int
) -> None:
    verify = drive.task(case_id, "verify")
    browser.login("gongdan")

    claimed = browser.post(f"/tasks/{verify.id}/claim", {"next": "/inbox"})
    assert claimed.headers["Location"] == "/inbox"
    assert drive.task(case_id, "verify").assignee == "gongdan"

    released = browser.post(
        f"/tasks/{verify.id}/release", {"next": "https://evil.example/"}
    )
    assert released.headers["Location"] == f"/tasks/{verify.id}"
    assert drive.task(case_id, "verify").assignee is None


def test_overdue_tasks_are_marked(
    browser: Browser, clock: engine.FakeClock, case_id: int
) -> None:
    browser.login("gongdan")
    assert "已超时" not in browser.get("/inbox").get_data(as_text=True)

    clock.advance(timedelta(minutes=16))
    page = browser.get("/inbox").get_data(as_text=True)

    assert 'class="overdue"' in page
    assert "已超时" in page


def test_manager_sees_breach_notification_after_the_timer_fires(
    browser: Browser,
    drive: Driver,
    clock: engine.FakeClock,
    system: engine.System,
    case_id: int,
) -> None:
    clock.advance(timedelta(minutes=16))
    system.engine.fire_due_timers()
    unit = drive.case(case_id).unit
    manager = next(
        u
        for u in ("jingli_ba", "jingli_th", "jingli_pd")
        if drive.staff(u).unit == unit
    )
    browser.login(manager)

    page = browser.get("/inbox").get_data(as_text=True)

    assert drive.case(case_id).work_order_no in page
    assert "15分钟内未核实" in page
    assert f'href="/cases/{case_id}"' in page


def test_integer_choices_render_as_radio_buttons(
    browser: Browser, drive: Driver, system: engine.System, case_id: int
) -> None:
    drive.through(case_id, "verify", "sign", "grade", "handle")
    handler = drive.handler_for(case_id)
    system.engine.complete(
        drive.task(case_id, "reply").id,
        drive.staff("kefu"),
        {"reply_channel": "sms", "reply_text": "已处理完毕。"},
    )
    system.engine.complete(
        drive.task(case_id, "confirm").id, drive.staff(handler), {"confirm_ack": True}
    )
    rate = drive.task(case_id, "rate")
    browser.login(handler.replace("chuli", "jingli"))

    page = browser.get(f"/tasks/{rate.id}").get_data(as_text=True)

    for value in range(1, 6):
        assert f'type="radio" name="rating" value="{value}"' in page
    response = browser.post(f"/tasks/{rate.id}/complete", {"rating": "9"})
    assert response.status_code == 422
    assert "请选择列出的选项之一" in response.get_data(as_text=True)
