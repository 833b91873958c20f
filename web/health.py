"""``GET /healthz``: is the app up and can it reach its database?"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .context import reading
from .i18n import t

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        with reading() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        logger.exception("Health check failed")
        reason = type(exc).__name__
        return jsonify({"ok": False, "message": t("health.down", reason=reason)}), 503
    return jsonify({"ok": True})
