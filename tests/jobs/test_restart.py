"""Durability across restarts of a real `diffuserve serve` process: jobs running or queued at a kill -9 complete
after a restart; a shutdown gives the running job back to the queue even when its step outlasts the grace; a
cancel asked for before a restart holds after it."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from diffuserve.catalog.registry import ModelSpec
from diffuserve.jobs.worker import STOP_WAIT_S
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobStatus
from tests.server_process import database, new_key, serve
from tests.service_helpers import wait_for

QUICK = {
    "modelId": "tiny-sd15",
    "prompt": "after the crash",
    "numSamples": 1,
    "numInferenceSteps": 2,
    "width": 64,
    "height": 64,
}
SLOW = {**QUICK, "prompt": "during the crash", "numInferenceSteps": 20, "numSamples": 2}
GRACE_S = 0.2


def _history(job: dict[str, object]) -> list[str]:
    return [h["status"] for h in job["statusHistory"]]  # type: ignore[attr-defined]


def test_jobs_queued_or_running_at_a_kill_complete_after_restart(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    auth = new_key(tmp_path)
    with serve(tmp_path, demo_root) as server:
        with server.client(auth) as c:
            slow = c.post("/v1/generate/txt2img", json=SLOW).json()["job"]["jobId"]
            quick = [c.post("/v1/generate/txt2img", json={**QUICK, "seed": i}).json()["job"]["jobId"] for i in range(4)]
            deadline = time.monotonic() + 120
            while c.get(f"/v1/jobs/{slow}").json()["job"]["status"] not in ("in-progress", "success"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        server.kill()
    with serve(tmp_path, demo_root) as server, server.client(auth) as c:
        jobs = [wait_for(c, job_id, timeout_s=600) for job_id in [slow, *quick]]
    assert [j["status"] for j in jobs] == ["success"] * 5
    history = _history(jobs[0])
    if "success" not in history[:-1]:  # it was still running at the kill: queued again, then re-run
        assert history.count("queued") == 2, history


@pytest.mark.parametrize("step_ends", [False, True], ids=["step-outlasts-the-grace", "step-ends-after-the-grace"])
def test_a_shutdown_gives_the_running_job_back_to_the_queue_and_a_restart_runs_it(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec], step_ends: bool
) -> None:
    """The job is held inside a denoising step (a crash point), so the grace always runs out first: the job is
    re-queued by the worker's stop (the step never ends) or by the step's cancel check (the step ends then)."""
    auth = new_key(tmp_path)
    with serve(tmp_path, demo_root, pause_at="step", DIFFUSERVE_SHUTDOWN_TIMEOUT_S=str(GRACE_S)) as server:
        with server.client(auth) as c:
            job_id = c.post("/v1/generate/txt2img", json=QUICK).json()["job"]["jobId"]
        assert server.wait_for_pause() == "step"
        server.process.send_signal(signal.SIGTERM)
        if step_ends:
            server.wait_for_log("shutdown stops the running job")
            server.release()
        server.process.wait(GRACE_S + STOP_WAIT_S + 60)  # never stuck
        log = server.log_text()
    if not step_ends:  # (when it ends, a busy machine may still take longer than STOP_WAIT_S: either way is right)
        assert "a step outlasted the shutdown grace" in log, log[-3000:]
    with database(tmp_path) as db:
        stopped = JobRepository(db).get(job_id)
    assert stopped.status is JobStatus.QUEUED and stopped.lease_owner is None
    with serve(tmp_path, demo_root) as server, server.client(auth) as c:
        job = wait_for(c, job_id, timeout_s=300)
    assert job["status"] == "success"
    assert _history(job).count("queued") == 2


@pytest.mark.parametrize("stop", ["kill", "terminate"])
def test_a_cancel_asked_for_before_a_restart_holds_after_it(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec], stop: str
) -> None:
    """Canceled while its step runs, then the server goes (kill -9, or a shutdown whose grace the step outlasts)
    before the step ends: after the restart the job is canceled and never runs again."""
    auth = new_key(tmp_path)
    with serve(tmp_path, demo_root, pause_at="step", DIFFUSERVE_SHUTDOWN_TIMEOUT_S=str(GRACE_S)) as server:
        with server.client(auth) as c:
            job_id = c.post("/v1/generate/txt2img", json=QUICK).json()["job"]["jobId"]
        server.wait_for_pause()
        # The cancel call waits for the job to end, which it cannot while held: send it aside and wait for the
        # request to be stored.
        canceling = threading.Thread(target=_cancel, args=(server.base_url, auth, job_id), daemon=True)
        canceling.start()
        with database(tmp_path) as db:
            jobs = JobRepository(db)
            deadline = time.monotonic() + 60
            while not jobs.get(job_id).cancel_requested:
                assert time.monotonic() < deadline, "the cancel request was not stored"
                time.sleep(0.02)
        if stop == "kill":
            server.kill()
        else:
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(GRACE_S + STOP_WAIT_S + 60)
    with serve(tmp_path, demo_root) as server, server.client(auth) as c:
        job = c.get(f"/v1/jobs/{job_id}").json()["job"]
        assert job["status"] == "canceled"
        # A job after it runs to the end: the canceled one was not picked up meanwhile.
        later = wait_for(c, c.post("/v1/generate/txt2img", json=QUICK).json()["job"]["jobId"], timeout_s=300)
        job = c.get(f"/v1/jobs/{job_id}").json()["job"]
    assert later["status"] == "success"
    history = _history(job)  # queued, then warming-up and/or in-progress, then canceled: one run only
    assert history[0] == "queued" and history.count("queued") == 1 and history[-1] == "canceled", history
    assert "success" not in history and job["metadata"]["assetIds"] == []


def _cancel(base_url: str, auth: tuple[str, str], job_id: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is stopped under it
        httpx.post(f"{base_url}/v1/jobs/{job_id}/action", json={"action": "cancel"}, auth=auth, timeout=60)
