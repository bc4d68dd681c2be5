"""Every imagepipeline job that ends gets its webhook: canceled while queued, or failed at a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diffuserve.app import open_database
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.storage.ids import new_job_id
from diffuserve.storage.job_repository import MAX_RUNS, JobRepository
from diffuserve.storage.records import JobStatus
from tests.service_helpers import LocalReceiver, run_service, wait_for

QUICK = {"modelId": "tiny-sd15", "prompt": "quick", "numSamples": 1, "numInferenceSteps": 1, "width": 64, "height": 64}
LONG = {**QUICK, "prompt": "long", "numInferenceSteps": 150, "numSamples": 4, "width": 256, "height": 256}


@pytest.fixture()
def hooks() -> Iterator[LocalReceiver]:
    h = LocalReceiver()
    yield h
    h.close()


def test_a_job_canceled_while_queued_gets_its_webhook(tmp_path: Path, engine: Engine, hooks: LocalReceiver) -> None:
    with (
        run_service(tmp_path, engine, open_mode=True, fetch_allow_private=True, webhook_backoff_s=0.05) as service,
        service.client() as c,
    ):
        running = c.post("/v1/generate/txt2img", json=LONG).json()["job"]["jobId"]
        body = {"model_id": "tiny-sd15", "prompt": "never run", "width": 64, "height": 64, "webhook": hooks.url}
        task = c.post("/sd/text2image/v1", json=body).json()
        canceled = c.post(f"/v1/jobs/{task['id']}/action", json={"action": "cancel"}).json()["job"]
        assert [h["status"] for h in canceled["statusHistory"]] == ["queued", "canceled"]
        assert hooks.wait_for_call() == {"id": task["id"], "status": "FAILURE", "error": "the job was canceled"}
        c.post(f"/v1/jobs/{running}/action", json={"action": "cancel"})
        wait_for(c, running)


def test_a_job_failed_at_start_after_too_many_interrupted_runs_gets_its_webhook_at_that_start(
    tmp_path: Path, engine: Engine, hooks: LocalReceiver
) -> None:
    db = open_database(Settings(data_dir=tmp_path))
    try:
        jobs = JobRepository(db)
        job = jobs.insert(
            job_id=new_job_id(),
            mode="txt2img",
            input=QUICK,
            author_id="local",
            owner_id="local",
            hide_results=False,
            webhook_url=hooks.url,
            api="imagepipeline",
        )
        for run in range(MAX_RUNS):  # each run was cut short by a crash
            if run:
                jobs.transition(job.id, JobStatus.QUEUED)
            jobs.transition(job.id, JobStatus.IN_PROGRESS)
    finally:
        db.close()
    with run_service(tmp_path, engine, open_mode=True, fetch_allow_private=True, webhook_backoff_s=0.05):
        call = hooks.wait_for_call()
    assert call["id"] == job.id and call["status"] == "FAILURE"
    assert "stopped during all" in call["error"]
