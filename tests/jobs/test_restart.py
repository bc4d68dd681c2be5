"""Durability: a server killed with SIGKILL, jobs running and queued, completes all of them after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from diffuserve.app import open_database
from diffuserve.catalog.registry import ModelSpec
from diffuserve.config import Settings
from diffuserve.service.keys import KeyService
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.key_repository import KeyRepository
from diffuserve.storage.records import JobStatus
from tests.service_helpers import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
QUICK = {
    "modelId": "tiny-sd15",
    "prompt": "after the crash",
    "numSamples": 1,
    "numInferenceSteps": 2,
    "width": 64,
    "height": 64,
}
SLOW = {**QUICK, "prompt": "during the crash", "numInferenceSteps": 20, "numSamples": 2}


@contextmanager
def serve(data_dir: Path, demo_root: Path, port: int, **env_extra: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "DIFFUSERVE_DEMO_MODELS_DIR": str(demo_root), "PYTHONPATH": str(REPO), **env_extra}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "diffuserve.cli",
            "--data-dir",
            str(data_dir),
            "serve",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def new_key(data_dir: Path) -> tuple[str, str]:
    """An API key for a server that is not running yet, as `diffuserve keys create` makes one."""
    db = open_database(Settings(data_dir=data_dir))
    try:
        key = KeyService(KeyRepository(db)).create()
    finally:
        db.close()
    return key.key, key.secret


def test_jobs_queued_or_running_at_a_kill_complete_after_restart(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    auth = new_key(tmp_path)
    port = free_port()
    with serve(tmp_path, demo_root, port) as process:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as c:
            slow = c.post("/v1/generate/txt2img", json=SLOW).json()["job"]["jobId"]
            quick = [c.post("/v1/generate/txt2img", json={**QUICK, "seed": i}).json()["job"]["jobId"] for i in range(4)]
            deadline = time.monotonic() + 60
            while c.get(f"/v1/jobs/{slow}").json()["job"]["status"] not in ("in-progress", "success"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    with (
        serve(tmp_path, demo_root, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as c,
    ):
        jobs = [wait_for(c, job_id, timeout_s=240) for job_id in [slow, *quick]]
    assert [j["status"] for j in jobs] == ["success"] * 5
    history = [h["status"] for h in jobs[0]["statusHistory"]]
    if "success" not in history[:-1]:  # it was still running at the kill: queued again, then re-run
        assert history.count("queued") == 2, history


def test_a_graceful_shutdown_puts_the_running_job_back_in_the_queue_and_a_restart_runs_it(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    auth = new_key(tmp_path)
    port = free_port()
    long_job = {**QUICK, "prompt": "at shutdown", "numInferenceSteps": 150, "width": 256, "height": 256}
    with serve(tmp_path, demo_root, port, DIFFUSERVE_SHUTDOWN_TIMEOUT_S="0.2") as process:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as c:
            job_id = c.post("/v1/generate/txt2img", json=long_job).json()["job"]["jobId"]
            deadline = time.monotonic() + 60
            while c.get(f"/v1/jobs/{job_id}").json()["job"]["progress"] <= 0:
                assert time.monotonic() < deadline, "the job did not start"
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        process.wait(60)  # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status -15)
    db = open_database(Settings(data_dir=tmp_path))
    try:
        stopped = JobRepository(db).get(job_id)
    finally:
        db.close()
    assert stopped.status is JobStatus.QUEUED
    with (
        serve(tmp_path, demo_root, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as c,
    ):
        job = wait_for(c, job_id, timeout_s=300)
    assert job["status"] == "success"
    assert [h["status"] for h in job["statusHistory"]].count("queued") == 2
