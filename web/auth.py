"""Signing in and out, the signed-in user, and the access decorators.

The session cookie holds the username only; ``g.user`` is the
:class:`engine.Staff` loaded from the database at every request, so a changed
role or a removed account takes effect at once.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

import engine

from .context import reading, system
from .errors import wants_json
from .i18n import label, t

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

USER_KEY: Final = "user"
MAX_USERNAME: Final = 60
MAX_PASSWORD: Final = 200
DEMO_PASSWORD: Final = engine.DEMO_PASSWORD
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")

# Who may use which area; the task inbox itself is open to every signed-in user.
INTAKE_ROLES: Final = ("customer_service", "work_order_centre")
AUDIT_ROLES: Final = (
    "auditor",
    "operations",
    "manager",
    "work_order_centre",
    "customer_service",
    "analyst",
)


@bp.before_app_request
def load_user() -> None:
    g.user = None
    if request.endpoint == "static":
        return
    username = session.get(USER_KEY)
    if not isinstance(username, str):
        return
    with reading() as db_session:
        staff = engine.find_staff(db_session, username)
    if staff is None:
        session.pop(USER_KEY, None)
    g.user = staff


def current_user() -> engine.Staff:
    """The signed-in user; only for views behind :func:`login_required`."""
    user = g.get("user")
    if user is None:
        abort(401, description=t("auth.required"))
    return cast(engine.Staff, user)


def user_has(*codes: str) -> bool:
    user = g.get("user")
    return user is not None and any(user.has_role(code) for code in codes)


def _refuse_anonymous() -> ResponseReturnValue:
    if wants_json():
        abort(401, description=t("auth.required"))
    target = None
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    flash(t("auth.required"), "error")
    return redirect(url_for("auth.login", next=target))


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return _refuse_anonymous()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def roles_required(*codes: str) -> Callable[[F], F]:
    """Only signed-in users with at least one of the roles ``codes``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.get("user") is None:
                return _refuse_anonymous()
            if not user_has(*codes):
                names = "、".join(label("role", code) for code in codes)
                abort(403, description=t("auth.forbidden", roles=names))
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def safe_next(target: str | None) -> str | None:
    """A local path to return to; anything that could leave the site is dropped."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if _CONTROL.search(target):
        return None
    return target


def valid_credentials(username: str, password: str) -> bool:
    return (
        0 < len(username) <= MAX_USERNAME
        and 0 < len(password) <= MAX_PASSWORD
        and not _CONTROL.search(username)
        and not _CONTROL.search(password)
    )


def _demo_staff() -> list[engine.Staff]:
    if not system().settings.demo:
        return []
    with reading() as db_session:
        return engine.demo_staff(db_session)


def _login_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    page = render_template(
        "auth/login.html",
        error=error,
        demo_users=_demo_staff(),
        demo_password=DEMO_PASSWORD,
        next=safe_next(request.values.get("next")),
        username=request.form.get("username", ""),
    )
    return page, status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return _login_page()

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not valid_credentials(username, password):
        return _login_page(t("auth.bad_input"), 400)

    with reading() as db_session:
        staff = engine.authenticate(db_session, username, password)
    if staff is None:
        logger.info("Sign-in refused")
        return _login_page(t("auth.failed"), 401)

    start_session(staff)
    flash(t("auth.welcome", name=staff.display_name), "ok")
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


def start_session(staff: engine.Staff) -> None:
    """A fresh session for the user, keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    session[USER_KEY] = staff.username
    if lang:
        session["lang"] = lang
    logger.info("Signed in", extra={"user": staff.username})


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(t("auth.logged_out"), "ok")
    return redirect(url_for("auth.login"))
