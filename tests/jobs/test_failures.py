"""A job always ends: storage failures, unreadable jobs, cancel racing shutdown, and the previews left behind."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from diffuserve.catalog.registry import Registry
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.jobs.events import JobEvent
from diffuserve.storage.asset_store import AssetStore
from diffuserve.storage.ids import new_job_id
from diffuserve.storage.records import DEFAULT_PROJECT_ID, JobStatus
from tests.service_helpers import RunningService, run_service, wait_for

QUICK = {"modelId": "tiny-sd15", "prompt": "quick", "numSamples": 1, "numInferenceSteps": 1, "width": 64, "height": 64}


@pytest.fixture()
def open_service(tmp_path: Path, engine: Engine) -> Iterator[RunningService]:
    with run_service(tmp_path, engine, open_mode=True) as running:
        yield running


def _submit(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v1/generate/txt2img", json=body)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job"]["jobId"]
    return job_id


def test_a_full_disk_while_storing_outputs_fails_the_job_and_removes_its_outputs(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AssetStore.stage  # outputs are staged, then made live with the job's success
    stored = 0

    def create_until_full(self: AssetStore, *args: Any, **kwargs: Any) -> Any:
        nonlocal stored
        stored += 1
        if stored == 2:  # the first image is stored, the second finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return store(self, *args, **kwargs)

    monkeypatch.setattr(AssetStore, "stage", create_until_full)
    with run_service(tmp_path, engine, open_mode=True) as service, service.client() as c:
        job_id = _submit(c, {**QUICK, "numSamples": 2})
        job = wait_for(c, job_id, timeout_s=60)
        assert job["status"] == "failure"
        assert "No space left on device" in job["metadata"]["output"]["error"]
        assert job["metadata"]["assetIds"] == []
        assert c.get("/v1/assets", params={"inferenceId": job_id}).json()["assets"] == []
        assert list((tmp_path / "blobs").rglob("*.png")) == []  # the first image's file went too
        assert c.post(f"/v1/jobs/{job_id}/action", json={"action": "cancel"}).status_code == 409
        # The worker goes on with the next job.
        assert wait_for(c, _submit(c, QUICK), timeout_s=60)["status"] == "success"


def test_a_job_the_worker_cannot_read_fails_and_the_queue_moves_on(open_service: RunningService) -> None:
    container = open_service.app.state.container
    jobs = container.services.jobs.jobs
    unreadable = jobs.insert(
        job_id=new_job_id(),
        mode="txt2video",  # e.g. written by a newer version
        input=QUICK,
        author_id="local",
        owner_id=DEFAULT_PROJECT_ID,
        hide_results=False,
    )
    container.jobs.submit(unreadable.id)
    with open_service.client() as c:
        after = _submit(c, QUICK)
        assert wait_for(c, after, timeout_s=30)["status"] == "success"
        failed = wait_for(c, unreadable.id, timeout_s=5)
    assert failed["status"] == "failure"
    assert "txt2video" in failed["metadata"]["output"]["error"]


def test_a_cancel_at_the_same_moment_as_shutdown_cancels_the_job(open_service: RunningService) -> None:
    container = open_service.app.state.container
    jobs, worker = container.jobs, container.worker
    started, release = threading.Event(), threading.Event()

    def hold_the_worker(event: JobEvent) -> None:
        if event.status is JobStatus.IN_PROGRESS and event.progress > 0:
            started.set()
            release.wait(30)

    unsubscribe = jobs.subscribe(hold_the_worker)
    with open_service.client() as c:
        job_id = _submit(c, {**QUICK, "numInferenceSteps": 50})
    try:
        assert started.wait(60), "the job did not start"
        jobs.cancel(job_id)
        stopper = threading.Thread(target=worker.stop, kwargs={"timeout_s": 0})
        stopper.start()
        deadline = time.monotonic() + 10
        while not any(c.shutdown for c in worker._controls.values()):
            assert time.monotonic() < deadline, "shutdown did not reach the running job"
            time.sleep(0.01)
    finally:
        release.set()
        unsubscribe()
    stopper.join(30)
    assert container.services.jobs.jobs.get(job_id).status is JobStatus.CANCELED


def test_every_preview_of_a_large_batch_is_removed_when_the_job_ends(
    tmp_path: Path, registry: Registry, session_settings: Settings
) -> None:
    big_batches = Engine(registry, session_settings.model_copy(update={"max_batch_images": 128}))
    body = {**QUICK, "numSamples": 70, "numInferenceSteps": 50, "intermediateImages": True}
    with run_service(tmp_path, big_batches, open_mode=True) as service, service.client() as c:
        job_id = _submit(c, body)
        deadline = time.monotonic() + 120
        while len(c.get(f"/v1/jobs/{job_id}").json()["job"]["metadata"]["output"].get("intermediateImages", [])) < 70:
            assert time.monotonic() < deadline, "no previews of the whole batch"
            time.sleep(0.02)
        c.post(f"/v1/jobs/{job_id}/action", json={"action": "cancel"})
        assert wait_for(c, job_id)["status"] in {"canceled", "success"}
    left = sorted(p.name for p in (tmp_path / "blobs" / "previews" / job_id).glob("*.png"))
    assert left == []
