"""Shared by the HTTP benchmarks: a `diffuserve serve` subprocess on a free port, and job polling.

Not a benchmark itself; the scripts beside it import it (`python bench/<name>.py` puts bench/ on sys.path).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"success", "failure", "canceled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@contextmanager
def serve(data_dir: Path, env: Mapping[str, str] | None = None, ready_timeout: float = 120) -> Iterator[str]:
    """Runs `diffuserve serve --open-mode` on a free loopback port with `data_dir` as its data folder and `env`
    on top of this process's environment; yields its base URL once GET /v1/models answers, and always stops it.

    The server's output goes to <data_dir>/server.log; its tail is in the error when the server never gets ready.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "diffuserve.cli", "serve", "--open-mode", "--port", str(port)],
            env={**os.environ, **(env or {}), "DIFFUSERVE_DATA_DIR": str(data_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + ready_timeout
        with httpx.Client(base_url=base_url, timeout=10) as client:
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"diffuserve serve exited with {server.returncode}:\n{_log_tail(log_path)}")
                try:
                    client.get("/v1/models").raise_for_status()
                    break
                except (httpx.TransportError, httpx.HTTPStatusError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"diffuserve serve not ready after {ready_timeout:.0f}s:\n{_log_tail(log_path)}"
                        ) from None
                    time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for(client: httpx.Client, job_id: str, poll: float) -> dict[str, Any]:
    """Polls GET /v1/jobs/{job_id} every `poll` seconds until the job is success, failure or canceled."""
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        response.raise_for_status()
        job: dict[str, Any] = response.json()["job"]
        if job["status"] in TERMINAL:
            return job
        time.sleep(poll)
