"""Throwaway servers for the tests: a PostgreSQL cluster in a temporary folder, on a free port of 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from diffuserve.localcluster import DATABASE, postgres_bin, start_postgres, stop_postgres


@contextmanager
def postgres_server() -> Iterator[str]:
    """Starts a PostgreSQL cluster (the same initdb + pg_ctl start as scripts/cluster) with one empty database and
    yields that database's URL; the server is stopped and its folder removed afterwards, also when starting it
    failed half-way. Fails the test when no PostgreSQL is installed (scripts/services installs it)."""
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: run scripts/services (scripts/test does)")
    root = Path(tempfile.mkdtemp(prefix="diffuserve-pg-"))
    try:
        server, _ = start_postgres(root)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        yield f"{server}/{DATABASE}"
    finally:
        stop_postgres(root)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new empty database on the server of `url`, for one test; dropped afterwards."""
    server, _, _ = url.rpartition("/")
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
