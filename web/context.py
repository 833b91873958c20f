"""Access to the complaint system that the app factory opened.

The database is opened once per app, in :func:`web.create_app`, and kept on
``app.extensions``; views reach it only through these helpers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import cast

from flask import current_app
from sqlalchemy.orm import Session

import engine

EXTENSION_KEY = "complaints"


def system() -> engine.System:
    return cast(engine.System, current_app.extensions[EXTENSION_KEY])


def commands() -> engine.Engine:
    """The engine whose methods change cases (start, claim, complete)."""
    return system().engine


def reading() -> AbstractContextManager[Session]:
    """A read-only session for queries; closed at the end of the block."""
    return system().db.reading()


def now() -> datetime:
    """The engine clock's time; overdue marks must agree with the engine."""
    return system().engine.clock.now()
