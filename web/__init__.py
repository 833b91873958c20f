"""The Flask web app: staff inbox, intake, public wall, audit pages and a JSON API.

``web`` talks to ``engine`` through its public names only; ``engine`` never
imports ``web``. :func:`create_app` opens the complaint system once per app and
keeps it on ``app.extensions["complaints"]``.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

import engine

from . import (
    api,
    audit,
    auth,
    csrf,
    errors,
    headers,
    health,
    i18n,
    inbox,
    intake,
    presenters,
    wall,
)
from .auth import user_has
from .context import EXTENSION_KEY

logger = logging.getLogger(__name__)

SWEEPER_KEY = "complaints_sweeper"
MAX_UPLOAD_BYTES = 1024 * 1024


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _defaults() -> dict[str, Any]:
    return {
        # Without COMPLAINTS_SECRET_KEY each process makes its own random key:
        # safe (no key is ever shipped in the code) but sessions end when the
        # process restarts, and several worker processes would not share them,
        # so a real deployment sets the variable.
        "SECRET_KEY": os.environ.get("COMPLAINTS_SECRET_KEY") or secrets.token_hex(32),
        "DATABASE_URL": (
            os.environ.get("DATABASE_URL") or engine.Settings().database_url
        ),
        "DEMO": _env_flag("COMPLAINTS_DEMO"),
        # COMPLAINTS_SWEEPER=0 when Celery workers fire the timers instead.
        "SWEEPER": os.environ.get("COMPLAINTS_SWEEPER", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        "SWEEP_INTERVAL": float(os.environ.get("COMPLAINTS_SWEEP_SECONDS", "5")),
        "CLOCK": None,
        "MAX_CONTENT_LENGTH": MAX_UPLOAD_BYTES,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, the given config, the complaint system, blueprints."""
    app = Flask(__name__)
    app.config.from_mapping(_defaults())
    if config:
        app.config.from_mapping(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Block tags keep their surrounding whitespace: templates put one HTML
    # attribute per line inside {% if %}, and trimming would glue them together.

    _open_system(app)

    # Order matters: the language is chosen first, the user loaded (by the auth
    # blueprint) before the CSRF check, so even a refusal page shows both.
    i18n.init_app(app)
    for blueprint in (
        auth.bp,
        inbox.bp,
        intake.bp,
        wall.bp,
        audit.bp,
        api.bp,
        health.bp,
    ):
        app.register_blueprint(blueprint)
    csrf.init_app(app)
    presenters.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    app.jinja_env.globals.update(
        user_has=user_has,
        INTAKE_ROLES=auth.INTAKE_ROLES,
        AUDIT_ROLES=auth.AUDIT_ROLES,
    )

    if app.config["SWEEPER"]:
        _start_sweeper(app)
    return app


def _open_system(app: Flask) -> None:
    settings = engine.Settings(
        database_url=app.config["DATABASE_URL"], demo=bool(app.config["DEMO"])
    )
    system = engine.open_system(settings, clock=app.config["CLOCK"])
    app.extensions[EXTENSION_KEY] = system
    logger.info("Complaint system opened", extra={"demo": settings.demo})


def _start_sweeper(app: Flask) -> None:
    system: engine.System = app.extensions[EXTENSION_KEY]
    sweeper = engine.Sweeper(
        system.engine, interval=float(app.config["SWEEP_INTERVAL"])
    )
    sweeper.start()
    app.extensions[SWEEPER_KEY] = sweeper
