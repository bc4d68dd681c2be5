"""`diffuserve serve` as a separate process, for tests that kill, stop and restart it: its log in a file, pauses
at named crash points (diffuserve/crashpoints.py), and direct reads of its database once it is down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from diffuserve.app import open_database
from diffuserve.config import Settings
from diffuserve.service.keys import KeyService
from diffuserve.storage.database import Database
from diffuserve.storage.key_repository import KeyRepository
from tests.service_helpers import free_port

REPO = Path(__file__).resolve().parents[1]
START_S = 180  # a cold start on a busy machine imports torch and builds the demo models


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    pause_file: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, auth: tuple[str, str] | None = None, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=auth, timeout=timeout)

    def wait_for_pause(self, timeout_s: float = 240) -> str:
        """The name of the crash point the server stopped at, once it is there."""
        deadline = time.monotonic() + timeout_s
        while not self.pause_file.exists():
            assert self.process.poll() is None, f"the server exited:\n{self.log_text()[-3000:]}"
            assert time.monotonic() < deadline, "the server never reached its pause point"
            time.sleep(0.02)
        return self.pause_file.read_text()

    def release(self) -> None:
        """Lets the paused thread go on."""
        self.pause_file.unlink()

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(60)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.log_text():
            assert time.monotonic() < deadline, f"{text!r} never logged:\n{self.log_text()[-3000:]}"
            time.sleep(0.02)


@contextmanager
def serve(
    data_dir: Path, demo_root: Path, *, port: int | None = None, pause_at: str | None = None, **env_extra: str
) -> Iterator[ServerProcess]:
    """`diffuserve serve` on `data_dir` until the block ends (then SIGTERM, and SIGKILL if it will not stop);
    with `pause_at`, the first thread to reach that crash point waits there (see ServerProcess.wait_for_pause)."""
    port = port or free_port()
    log = data_dir.parent / f"{data_dir.name}-server-{port}-{time.monotonic_ns()}.log"
    pause_file = data_dir.parent / f"{data_dir.name}-paused-{port}"
    pause_file.unlink(missing_ok=True)
    env = {**os.environ, "DIFFUSERVE_DEMO_MODELS_DIR": str(demo_root), "PYTHONPATH": str(REPO), **env_extra}
    env.pop("DIFFUSERVE_PAUSE_AT", None)
    if pause_at is not None:
        env.update(DIFFUSERVE_PAUSE_AT=pause_at, DIFFUSERVE_PAUSE_FILE=str(pause_file))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "diffuserve.cli", "--data-dir", str(data_dir), "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, port, log, pause_file)
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                if httpx.get(f"{server.base_url}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, f"the server exited:\n{server.log_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the server did not start:\n{server.log_text()[-3000:]}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def new_key(data_dir: Path) -> tuple[str, str]:
    """An API key for a server that is not running yet, as `diffuserve keys create` makes one."""
    db = open_database(Settings(data_dir=data_dir))
    try:
        key = KeyService(KeyRepository(db)).create()
    finally:
        db.close()
    return key.key, key.secret


@contextmanager
def database(data_dir: Path) -> Iterator[Database]:
    """The data folder's database, opened directly (the server may be running: SQLite WAL allows it)."""
    db = Database(Settings(data_dir=data_dir).resolved_database_url)
    try:
        yield db
    finally:
        db.close()
