"""Signing in and out, access by role, and the CSRF check on every form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Browser


def test_login_page_lists_demo_users(browser: Browser) -> None:
    page = browser.get("/login").get_data(as_text=True)

    assert "gongdan" in page
    assert "工单中心" in page
    assert "密码均为 demo" in page


def test_login_works_and_shows_the_inbox(browser: Browser) -> None:
    response = browser.login("gongdan")

    assert response.headers["Location"] == "/inbox"
    page = browser.get("/inbox").get_data(as_text=True)
    assert "工单中心 李强" in page


def test_login_form_carries_a_working_token(browser: Browser) -> None:
    page = browser.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match

    response = browser.client.post(
        "/login",
        data={"username": "kefu", "password": "demo", "csrf_token": match.group(1)},
    )

    assert response.status_code == 302


def test_login_with_a_wrong_password_fails(browser: Browser) -> None:
    response = browser.post("/login", {"username": "gongdan", "password": "nope"})

    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert browser.get("/inbox").status_code == 302


def test_anonymous_inbox_redirects_to_login(browser: Browser) -> None:
    response = browser.get("/inbox")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/inbox")


def test_login_never_redirects_off_site(browser: Browser) -> None:
    response = browser.post(
        "/login", {"username": "kefu", "password": "demo", "next": "//evil.example/x"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"


def test_logout_is_post_only_and_ends_the_session(browser: Browser) -> None:
    browser.login("kefu")

    assert browser.get("/logout").status_code == 405
    browser.logout()
    assert browser.get("/inbox").status_code == 302


def test_post_without_csrf_token_is_400(browser: Browser) -> None:
    response = browser.client.post(
        "/login", data={"username": "kefu", "password": "demo"}
    )

    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert browser.get("/inbox").status_code == 302  # not signed in


def test_post_with_a_wrong_csrf_token_is_400(browser: Browser) -> None:
    browser.csrf()
    response = browser.client.post(
        "/login", data={"username": "kefu", "password": "demo", "csrf_token": "forged"}
    )

    assert response.status_code == 400


def test_handler_may_not_record_complaints(browser: Browser) -> None:
    browser.login("chuli_ba")

    response = browser.get("/intake")

    assert response.status_code == 403
    assert "客服" in response.get_data(as_text=True)


def test_language_switch_is_remembered(browser: Browser) -> None:
    assert "Staff sign-in" in browser.get("/login?lang=en").get_data(as_text=True)
    assert "Staff sign-in" in browser.get("/login").get_data(as_text=True)
    assert "员工登录" in browser.get("/login?lang=zh").get_data(as_text=True)
