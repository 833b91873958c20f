"""Database connection: SQLite by default, PostgreSQL through ``DATABASE_URL``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from .errors import DatabaseSchemaError
from .models import Base


def connect(url: str) -> SqlEngine:
    """Create the SQLAlchemy engine for ``url`` and make sure the tables exist."""
    if url.startswith("sqlite"):
        sql_engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}
        )
        event.listen(sql_engine, "connect", _sqlite_pragmas)
    else:
        sql_engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(sql_engine)
    _check_columns(sql_engine)
    return sql_engine


def _check_columns(sql_engine: SqlEngine) -> None:
    """Refuse a database whose tables an older version of this program made."""
    inspector = inspect(sql_engine)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing = sorted(c.name for c in table.columns if c.name not in present)
        if missing:
            raise DatabaseSchemaError(
                f"数据库结构来自旧版本，请使用新的数据库。 The database was made by an "
                f"older version of this program: table {table.name} lacks "
                f"{', '.join(missing)}. There are no migrations yet; start from a "
                "fresh database (make clean, or another DATABASE_URL)."
            )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """A session factory with one-transaction-per-block helpers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sql_engine = connect(url)
        self.is_postgres = self.sql_engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(self.sql_engine, expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or not at all."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        finally:
            # close() ends the transaction but leaves loaded rows readable.
            session.close()

    def dispose(self) -> None:
        self.sql_engine.dispose()
