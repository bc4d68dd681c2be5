"""The database: one SQLAlchemy engine per process; SQLite (WAL mode, busy timeout) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from diffuserve.storage import migrate
from diffuserve.storage.files import private_file

logger = logging.getLogger(__name__)
WAL_SWITCH_S = 30.0


def _switch_to_wal(cursor: Any) -> None:
    """SQLite answers "database is locked" at once, without its busy handler, when another process holds a
    lock while this one switches the journal mode (processes starting together on a new file): retry a while."""
    deadline = time.monotonic() + WAL_SWITCH_S
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is off).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The busy timeout first, so every later statement waits for a lock instead of failing; the switch to WAL
    # (kept in the file) only when needed, since it takes a lock of its own that other processes may hold.
    cursor.execute("PRAGMA busy_timeout=30000")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def driver_url(url: str) -> str:
    """`postgresql://` (and the short `postgres://`) run on psycopg 3, not SQLAlchemy's default psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _engine(url: str, *, immediate: bool) -> Engine:
    kwargs: dict[str, Any] = {}
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and path and path != ":memory:" and not path.startswith("file:"):
        private_file(Path(path))  # key hashes and prompts: 0600 (SQLite gives -wal and -shm the same mode)
    kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


class Database:
    """Owns the SQLAlchemy engines and hands out sessions that commit on success and roll back on error.

    On SQLite, write sessions start with BEGIN IMMEDIATE so concurrent read-then-write transactions wait on
    the busy timeout instead of failing with "database is locked"; read sessions never block (WAL).
    """

    def __init__(self, url: str) -> None:
        self.url = driver_url(url)
        # For logs and messages: the URL without its password.
        self.display_url = make_url(self.url).render_as_string(hide_password=True)
        self.engine: Engine = _engine(self.url, immediate=True)
        self._read_engine: Engine = _engine(self.url, immediate=False) if url.startswith("sqlite") else self.engine
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)

    def upgrade(self) -> migrate.Upgrade:
        """Creates or migrates the schema to the newest revision (`alembic upgrade head`); a database made
        before migrations existed is stamped at the baseline first."""
        done = migrate.upgrade(self.engine)
        logger.info("database ready url=%s revision=%s", self.display_url, done.after)
        return done

    def ping(self) -> bool:
        """Whether the database answers right now."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_sessions() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()
