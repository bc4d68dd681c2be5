"""One cluster per module, started through scripts/cluster (real PostgreSQL, Redis, moto S3, 2 API replicas,
2 CPU workers) with short leases so that crash recovery is quick to observe."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from diffuserve.localcluster import Cluster, Proc

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["LEASE_S=3", "REDISPATCH_AFTER_S=3", "BATCH_WINDOW_MS=50"]
TINY = {"modelId": "tiny-sd15", "prompt": "a fox", "numSamples": 1, "numInferenceSteps": 2, "width": 64, "height": 64}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    args = [str(ROOT / "scripts" / "cluster"), "up", "--dir", str(root), "--json"]
    for setting in SETTINGS:
        args += ["--set", setting]
    started = subprocess.run(args, capture_output=True, text=True, check=False, timeout=600)
    assert started.returncode == 0, started.stderr[-3000:]
    json.loads(started.stdout)  # the state it printed is valid JSON
    try:
        yield Cluster.load(root)
    finally:
        subprocess.run([str(ROOT / "scripts" / "cluster"), "down", "--dir", str(root)], check=False, timeout=300)


def client(cluster: Cluster, replica: int = 0) -> httpx.Client:
    return httpx.Client(base_url=cluster.api_urls[replica], auth=(cluster.key, cluster.secret), timeout=30)


def submit(c: httpx.Client, body: dict[str, Any] | None = None, mode: str = "txt2img") -> str:
    response = c.post(f"/v1/generate/{mode}", json=body or TINY)
    assert response.status_code == 200, response.text
    return str(response.json()["job"]["jobId"])


def wait_for(c: httpx.Client, job_id: str, timeout_s: float = 120, until: tuple[str, ...] = ()) -> dict[str, Any]:
    """Polls until the job ends (or reaches one of `until`); transient 503s (a database outage) are retried."""
    deadline = time.monotonic() + timeout_s
    ends = until or ("success", "failure", "canceled")
    while True:
        try:
            response = c.get(f"/v1/jobs/{job_id}")
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            job: dict[str, Any] = response.json()["job"]
            if job["status"] in ends:
                return job
        else:
            assert response is None or response.status_code == 503, response.text
        assert time.monotonic() < deadline, f"job {job_id} did not reach {ends} in {timeout_s}s"
        time.sleep(0.1)


def lease_owner(cluster: Cluster, job_id: str) -> str | None:
    with psycopg.connect(cluster.database_url) as db:
        row = db.execute("SELECT lease_owner FROM jobs WHERE id = %s", (job_id,)).fetchone()
    return None if row is None else row[0]


def ran_on(cluster: Cluster, job_id: str) -> list[str]:
    """The workers whose log says they claimed the job (a re-run after a crash names two)."""
    return [p.name for p in cluster.workers() if job_id in Path(p.log).read_text()]


def restart(cluster: Cluster, proc: Proc, ready_path: str = "/readyz", env: dict[str, str] | None = None) -> None:
    """Starts a killed process again with its command (and extra settings), records its new pid in the cluster
    state (so `scripts/cluster down` stops it) and waits until it is ready."""
    if proc.alive:
        proc.kill()
    if env is not None:
        proc.env.update(env)
    proc.start()
    cluster.save()
    deadline = time.monotonic() + 180
    while True:
        assert proc.alive, f"{proc.name} exited; see {proc.log}"
        try:
            if httpx.get(f"http://127.0.0.1:{proc.port}{ready_path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{proc.name} not ready"
        time.sleep(0.2)
