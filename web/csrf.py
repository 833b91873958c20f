"""Protection against cross-site form posts.

HTML forms carry a per-session token in a hidden field named ``csrf_token``;
a POST without the right token is refused with 400 before any view runs.
The JSON API cannot be reached by a plain cross-site form: its POSTs must send
JSON or the header ``X-Requested-With: fetch``, and a browser sends neither
across sites without a CORS preflight, which this app never grants.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Final

from flask import Flask, abort, request, session

from .i18n import t

logger = logging.getLogger(__name__)

FIELD: Final = "csrf_token"
SESSION_KEY: Final = "csrf"
API_HEADER: Final = "X-Requested-With"
API_HEADER_VALUE: Final = "fetch"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_token() -> str:
    """The session's token, made on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def check_request() -> None:
    """Refuse an unsafe request that a cross-site page could have sent."""
    if request.method in SAFE_METHODS or request.routing_exception is not None:
        return

    if is_api_request():
        sent_json = request.mimetype == "application/json"
        if not sent_json and request.headers.get(API_HEADER) != API_HEADER_VALUE:
            logger.warning(
                "API post without JSON or fetch header", extra={"path": request.path}
            )
            abort(400, description=t("csrf.api"))
        return

    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not expected or not sent:
        abort(400, description=t("csrf.failed"))
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        logger.warning(
            "Form post with a wrong CSRF token", extra={"path": request.path}
        )
        abort(400, description=t("csrf.failed"))


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.jinja_env.globals["csrf_token"] = csrf_token
