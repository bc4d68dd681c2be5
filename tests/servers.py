"""Throwaway servers for the tests: a PostgreSQL cluster in a temporary folder, on a free port of 127.0.0.1."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

# Debian and Ubuntu keep the server programs off PATH; elsewhere (Homebrew, other distributions) they are on it.
_DEBIAN_BINS = "/usr/lib/postgresql/*/bin"
DATABASE = "diffuserve"
# A throwaway cluster need not survive a crash: no fsync, no full-page writes.
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


def _postgres_bin() -> Path | None:
    for folder in sorted(glob.glob(_DEBIAN_BINS), key=lambda p: int(Path(p).parent.name), reverse=True):
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(*command: str | Path) -> list[str]:
    """PostgreSQL refuses to run as root: as root, the server programs run as the `postgres` user."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return [*prefix, *(str(part) for part in command)]


def _run(*command: str | Path) -> None:
    done = subprocess.run(_as_server_user(*command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@contextmanager
def postgres_server() -> Iterator[str]:
    """Starts a PostgreSQL cluster (initdb, pg_ctl start) with one empty database and yields that database's
    URL; the server is stopped and its folder removed afterwards, also when starting it failed half-way.
    Skips the test when no PostgreSQL is installed (scripts/services installs it)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed: run scripts/services (scripts/test does)")
    root = Path(tempfile.mkdtemp(prefix="diffuserve-pg-"))
    data = root / "data"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        _run(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C")
        for attempt in range(3):  # another process may take the free port before the server binds it
            port = _free_port()
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {_SERVER_OPTIONS}"
            try:
                _run(bin_dir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options, "-w", "start")
                started = True
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        server = f"postgresql://postgres@127.0.0.1:{port}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        yield f"{server}/{DATABASE}"
    finally:
        if started:
            _run(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
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
