"""The worker forms batches: which queued jobs run together (a pure choice), and what each job of a batch sees."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from diffuserve.catalog.batching import BatchKey
from diffuserve.catalog.types import Mode
from diffuserve.engine.engine import Engine
from diffuserve.jobs.batching import Candidate, select_batch
from diffuserve.jobs.events import JobEvent
from diffuserve.storage.records import JobStatus
from tests.service_helpers import RunningService, run_service, wait_for


def key(model: str = "m", steps: int = 4) -> BatchKey:
    return BatchKey(model, Mode.TXT2IMG, 64, 64, steps, "PNDMScheduler", 7.5, None, (), None, ())


def job(job_id: str, k: BatchKey, images: int = 1, waited_s: float = 0.0) -> Candidate:
    return Candidate(job_id, k, images, waited_s)


def ids(batch: list[Candidate]) -> list[str]:
    return [c.job_id for c in batch]


def pick(queued: list[Candidate], loaded: set[str] | None = None, max_images: int = 8) -> list[str]:
    everything = loaded is None
    return ids(
        select_batch(
            queued,
            is_loaded=lambda k: everything or k.model_id in (loaded or set()),
            max_images=max_images,
            max_wait_s=10.0,
        )
    )


def test_the_head_job_and_its_compatible_followers_oldest_first() -> None:
    queued = [job("a", key()), job("b", key(steps=9)), job("c", key()), job("d", key())]
    assert pick(queued) == ["a", "c", "d"]
    assert pick([]) == []


def test_a_batch_holds_at_most_max_images_and_fills_with_what_fits() -> None:
    queued = [job("a", key(), 3), job("b", key(), 4), job("c", key(), 2), job("d", key(), 1)]
    assert pick(queued, max_images=8) == ["a", "b", "d"]
    assert pick([job("big", key(), 20), job("small", key())], max_images=8) == ["big"]  # runs alone, in calls


def test_jobs_for_a_loaded_model_go_first_until_the_oldest_has_waited_too_long() -> None:
    queued = [job("cold", key("other"), waited_s=3.0), job("warm1", key("m")), job("warm2", key("m"))]
    assert pick(queued, loaded={"m"}) == ["warm1", "warm2"]
    queued[0] = job("cold", key("other"), waited_s=11.0)
    assert pick(queued, loaded={"m"}) == ["cold"]
    assert pick([*queued[:1], job("x", key("third"))], loaded=set()) == ["cold"]  # nothing loaded: oldest first


# -- the worker in the running service --

QUICK = {"modelId": "tiny-sd15", "prompt": "quick", "numSamples": 1, "numInferenceSteps": 2, "width": 64, "height": 64}


@pytest.fixture()
def service(tmp_path: Path, engine: Engine) -> Iterator[RunningService]:
    with run_service(tmp_path, engine, open_mode=True, max_batch_images=8, batch_window_ms=50) as running:
        yield running


def submit(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v1/generate/txt2img", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["job"]["jobId"])


class HeldWorker:
    """Blocks the worker on the first progress event of `job_id`, so that jobs submitted meanwhile queue up."""

    def __init__(self, service: RunningService) -> None:
        self.jobs = service.app.state.container.jobs
        self.started, self.release = threading.Event(), threading.Event()
        self.job_id = ""
        self.unsubscribe = self.jobs.subscribe(self._hold)

    def _hold(self, event: JobEvent) -> None:
        if event.job_id == self.job_id and event.status is JobStatus.IN_PROGRESS and event.progress > 0:
            self.started.set()
            self.release.wait(30)

    def __enter__(self) -> HeldWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.unsubscribe()


def test_queued_compatible_jobs_run_as_one_batch(service: RunningService, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="diffuserve.jobs.worker"),
        service.client() as c,
        HeldWorker(service) as held,
    ):
        held.job_id = submit(c, QUICK)
        assert held.started.wait(60)
        same = [submit(c, {**QUICK, "prompt": f"prompt {i}", "seed": i}) for i in range(4)]
        other = submit(c, {**QUICK, "numInferenceSteps": 3})
        held.release.set()
        done = [wait_for(c, j, timeout_s=60) for j in [held.job_id, *same, other]]
        # Each job of the batch has its own image, made with its own seed.
        seeds = [c.get(f"/v1/assets/{d['metadata']['assetIds'][0]}").json()["asset"]["metadata"]["seed"] for d in done]
    assert [d["status"] for d in done] == ["success"] * 6
    assert seeds[1:5] == ["0", "1", "2", "3"]
    claimed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("batch claimed")]
    assert len(claimed) == 3, claimed
    assert "jobs=4 images=4" in claimed[1] and all(j in claimed[1] for j in same)
    assert "jobs=1" in claimed[2] and other in claimed[2]


def test_cancel_inside_a_batch_stops_that_job_only(service: RunningService) -> None:
    with service.client() as c, HeldWorker(service) as held:
        held.job_id = submit(c, QUICK)
        assert held.started.wait(60)
        slow = {**QUICK, "numInferenceSteps": 60}
        first, second = submit(c, slow), submit(c, {**slow, "prompt": "another"})
        held.release.set()
        deadline = time.monotonic() + 60
        while c.get(f"/v1/jobs/{first}").json()["job"]["progress"] <= 0:
            assert time.monotonic() < deadline, "the batch did not start"
            time.sleep(0.02)
        assert c.get(f"/v1/jobs/{second}").json()["job"]["status"] == "in-progress"  # running in the same batch
        canceled = c.post(f"/v1/jobs/{first}/action", json={"action": "cancel"}).json()["job"]
        assert canceled["status"] == "canceled"
        assert c.get(f"/v1/jobs/{second}").json()["job"]["status"] == "in-progress"
        finished = wait_for(c, second, timeout_s=120)
    assert finished["status"] == "success" and len(finished["metadata"]["assetIds"]) == 1
