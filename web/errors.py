"""The one translation of errors into HTTP responses.

Engine errors carry their HTTP status as ``status``; HTTP errors raised by
views (``abort``) and by routing (404, 405) and unhandled failures (500) are
answered in the same shape: an HTML page, or JSON for the API and for clients
that prefer ``application/json``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

import engine

from .csrf import is_api_request
from .i18n import STRINGS, t

logger = logging.getLogger(__name__)


def wants_json() -> bool:
    if is_api_request():
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(
    status: int,
    message: str,
    *,
    errors: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An error as JSON or as a page, with a whole-sentence message."""
    if wants_json():
        body: dict[str, Any] = {"ok": False, "status": status, "message": message}
        if errors:
            body["errors"] = errors
        body.update(extra or {})
        response = jsonify(body)
    else:
        title_key = f"error.{status}"
        title = t(title_key) if title_key in STRINGS else t("error.title")
        response = make_response(
            render_template(
                "errors/error.html",
                status=status,
                title=title,
                message=message,
                errors=errors or {},
            )
        )
    response.status_code = status
    return response


def handle_engine_error(exc: engine.EngineError) -> Response:
    status = int(getattr(exc, "status", 400))
    if status >= 500:
        logger.error("Engine error answered with %s", status, exc_info=exc)
    else:
        logger.info(
            "Engine refused a request: %s",
            type(exc).__name__,
            extra={"status": status, "path": request.path},
        )

    errors = dict(exc.errors) if isinstance(exc, engine.InputError) else None
    extra: dict[str, Any] = {"error": type(exc).__name__}
    if isinstance(exc, engine.DefinitionError):
        extra["problems"] = [problem.to_dict() for problem in exc.problems]
    return error_response(status, str(exc), errors=errors, extra=extra)


def handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or ""
    # Our own aborts carry a description; the library's defaults get ours.
    if message == type(exc).description or status == 500:
        key = f"error.{status}.message"
        message = t(key, method=request.method) if key in STRINGS else message

    response = error_response(status, message)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(engine.EngineError, handle_engine_error)
    # Covers 400, 401, 403, 404, 405, 413 and the 500 that Flask makes from an
    # unhandled exception (after logging it).
    app.register_error_handler(HTTPException, handle_http_error)
