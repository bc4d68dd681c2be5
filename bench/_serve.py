"""Shared by the HTTP benchmarks: a `diffuserve serve` subprocess on a free port, job polling, and concurrent
one-image clients with their latencies.

Not a benchmark itself; the scripts beside it import it (`python bench/<name>.py` puts bench/ on sys.path).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"success", "failure", "canceled"}
POLL_S = 0.05  # how often a client polls its job
# Where a job may report the size of the batch it ran in; none of these exists yet.
BATCH_SIZE_KEYS = ("batchSize", "batchImages")


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
def serve(
    data_dir: Path, env: Mapping[str, str] | None = None, ready_timeout: float = 120, *, open_mode: bool = True
) -> Iterator[str]:
    """Runs `diffuserve serve --open-mode` on a free loopback port with `data_dir` as its data folder and `env`
    on top of this process's environment; yields its base URL once GET /v1/models answers, and always stops it.
    Without `open_mode` the server wants keys (`diffuserve keys create`) and is ready once /readyz answers 200.

    The server's output goes to <data_dir>/server.log; its tail is in the error when the server never gets ready.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "diffuserve.cli", "serve", "--port", str(port)]
    if open_mode:
        command.append("--open-mode")
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command,
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
                    client.get("/v1/models" if open_mode else "/readyz").raise_for_status()
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


@dataclass
class Outcome:
    """What a set of one-image clients saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful jobs only
    batch_sizes: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); `q` in 0..100."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def reported_batch_size(job: dict[str, Any]) -> int | None:
    """The batch size the server says this job ran in, if it says so (top level, metadata or output)."""
    metadata = job.get("metadata") or {}
    for where in (job, metadata, metadata.get("output") or {}):
        for key in BATCH_SIZE_KEYS:
            value = where.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def run_clients(
    client: httpx.Client, body: dict[str, Any], clients: int, rounds: int, seed0: int, poll: float = POLL_S
) -> Outcome:
    """`clients` threads, each submitting `rounds` one-image txt2img jobs (`body` plus a seed) one after the
    other and polling each every `poll` seconds until it ends; seeds are all distinct from `seed0` on.
    `client` should allow `clients` connections (httpx.Limits)."""

    def loop(index: int) -> Outcome:
        outcome = Outcome()
        for r in range(rounds):
            started = time.perf_counter()
            response = client.post("/v1/generate/txt2img", json={**body, "seed": seed0 + index * rounds + r})
            response.raise_for_status()
            job = wait_for(client, response.json()["job"]["jobId"], poll)
            latency = time.perf_counter() - started
            if job["status"] != "success":
                output = job.get("metadata", {}).get("output", {})
                outcome.failures.append(f"{job['status']}: {output.get('error', '?')}")
                continue
            outcome.latencies.append(latency)
            size = reported_batch_size(job)
            if size is not None:
                outcome.batch_sizes.append(size)
        return outcome

    merged = Outcome()
    with ThreadPoolExecutor(clients) as pool:
        for outcome in pool.map(loop, range(clients)):
            merged.latencies += outcome.latencies
            merged.batch_sizes += outcome.batch_sizes
            merged.failures += outcome.failures
    return merged


def client_limits(clients: int) -> httpx.Limits:
    """Connection limits for one httpx.Client shared by `clients` threads (and a few spare)."""
    return httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
