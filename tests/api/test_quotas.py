"""Limits on what one request and one project may cost: the per-request work budget and prompt caps (400 stating
the limit), a project's unfinished jobs and hourly work (429 with Retry-After), and the queue's bound (503)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from diffuserve.engine.engine import Engine
from tests.service_helpers import RunningService, run_service, wait_for

TINY = {"modelId": "tiny-sd15", "prompt": "a fox", "numSamples": 1, "numInferenceSteps": 2, "width": 64, "height": 64}
# Long enough on the CPU that the next request arrives while it is still queued or running.
SLOW = {**TINY, "numInferenceSteps": 40, "width": 256, "height": 256}


@pytest.fixture()
def limited(tmp_path: Path, engine: Engine, request: pytest.FixtureRequest) -> Iterator[RunningService]:
    overrides: dict[str, Any] = request.param
    with run_service(tmp_path, engine, **overrides) as running:
        yield running


def _client(service: RunningService, project: str | None = None) -> httpx.Client:
    keys = service.services.keys
    if project is not None and not any(p.name == project for p in keys.projects()):
        keys.create_project(project)
    key = keys.create(project=project, role="member")
    return service.client(auth=(key.key, key.secret))


def _cancel_all(client: httpx.Client, job_ids: list[str]) -> None:
    for job_id in job_ids:
        client.post(f"/v1/jobs/{job_id}/action", json={"action": "cancel"})


@pytest.mark.parametrize("limited", [{"max_work_per_request": 10.0, "max_prompt_chars": 50}], indirect=True)
def test_a_request_over_the_work_budget_or_prompt_cap_is_a_400_that_states_the_limit(limited: RunningService) -> None:
    with _client(limited) as c:
        # 4 x 512 x 512 x 20 steps = 21 megapixel-steps, over 10.
        big = c.post(
            "/v1/generate/txt2img", json={**TINY, "numSamples": 4, "width": 512, "height": 512, "numInferenceSteps": 20}
        )
        fits = c.post(
            "/v1/generate/txt2img",
            json={**TINY, "numSamples": 4, "width": 512, "height": 512, "numInferenceSteps": 5},
            params={"dryRun": "true"},
        )
        long_prompt = c.post("/v1/generate/txt2img", json={**TINY, "prompt": "a fox " * 20})
        long_negative = c.post("/v1/generate/txt2img", json={**TINY, "negativePrompt": "x" * 51})
    assert big.status_code == 400 and big.json()["reason"] == "request_too_large"
    assert "21 megapixel-steps" in big.json()["message"] and "at most 10" in big.json()["message"]
    assert fits.status_code == 269
    assert long_prompt.status_code == 400 and long_prompt.json()["field"] == "prompt"
    assert "at most 50" in long_prompt.json()["message"] and "77 tokens" in long_prompt.json()["message"]
    assert long_negative.status_code == 400 and long_negative.json()["field"] == "negativePrompt"


@pytest.mark.parametrize("limited", [{"project_max_active_jobs": 1}], indirect=True)
def test_a_project_over_its_unfinished_jobs_gets_429_while_another_project_goes_on(limited: RunningService) -> None:
    with _client(limited, "busy") as busy, _client(limited, "other") as other:
        first = busy.post("/v1/generate/txt2img", json=SLOW).json()["job"]["jobId"]
        refused = busy.post("/v1/generate/txt2img", json=TINY)
        elsewhere = other.post("/v1/generate/txt2img", json=TINY)
        _cancel_all(busy, [first])
        wait_for(busy, first)
        again = busy.post("/v1/generate/txt2img", json=TINY)
    assert refused.status_code == 429 and refused.json()["reason"] == "too_many_active_jobs"
    assert int(refused.headers["Retry-After"]) >= 1
    assert elsewhere.status_code == 200 and again.status_code == 200


@pytest.mark.parametrize("limited", [{"project_max_work_per_hour": 0.05}], indirect=True)
def test_a_project_over_its_hourly_work_gets_429_with_the_wait(limited: RunningService) -> None:
    with _client(limited, "hourly") as c:
        first = c.post("/v1/generate/txt2img", json={**TINY, "numInferenceSteps": 10})  # 0.041 megapixel-steps
        second = c.post("/v1/generate/txt2img", json={**TINY, "numInferenceSteps": 10})
        priced = c.post("/v1/generate/txt2img", json=TINY, params={"dryRun": "true"})
    assert first.status_code == 200
    assert second.status_code == 429 and second.json()["reason"] == "hourly_quota_exceeded"
    assert 3500 <= int(second.headers["Retry-After"]) <= 3600  # when the first job leaves the hour's window
    assert priced.status_code == 269  # pricing a request spends nothing


@pytest.mark.parametrize("limited", [{"max_queued_jobs": 1}], indirect=True)
def test_a_full_queue_answers_503_with_retry_after_and_loses_nothing(limited: RunningService) -> None:
    with _client(limited, "a") as a, _client(limited, "b") as b:
        running = a.post("/v1/generate/txt2img", json=SLOW).json()["job"]["jobId"]
        deadline = time.monotonic() + 60
        while a.get(f"/v1/jobs/{running}").json()["job"]["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        queued = b.post("/v1/generate/txt2img", json=TINY).json()["job"]["jobId"]
        full = b.post("/v1/generate/txt2img", json=TINY)
        before = len(b.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"])
        _cancel_all(a, [running])
        assert wait_for(b, queued)["status"] == "success"
    assert full.status_code == 503 and full.json()["reason"] == "queue_full" and int(full.headers["Retry-After"]) > 0
    assert before == 1  # the refused request left nothing behind
