"""The databases storage tests run on: a SQLite file, or a fresh database on the session's PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from diffuserve.storage.database import Database
from tests.servers import fresh_database

BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database's URL; PostgreSQL starts (once per session) only for the tests that ask for it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@contextmanager
def upgraded_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A `Database` on an empty database upgraded to the newest schema, closed afterwards."""
    with database_url(backend, request, tmp_path) as url:
        db = Database(url)
        try:
            db.upgrade()
            yield db
        finally:
            db.close()
