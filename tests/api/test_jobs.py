"""Job lifecycle over HTTP: cancel, previews, listing, concurrency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.service_helpers import assert_matches, wait_for

QUICK = {
    "modelId": "tiny-sd15",
    "prompt": "quick",
    "numSamples": 1,
    "numInferenceSteps": 1,
    "width": 64,
    "height": 64,
}
LONG = {**QUICK, "prompt": "long", "numInferenceSteps": 150, "numSamples": 4, "width": 256, "height": 256}


def _wait_status(client: httpx.Client, job_id: str, statuses: set[str], timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()["job"]
        if job["status"] in statuses:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {statuses}")


def test_cancel_a_running_job_frees_the_worker_for_the_next(client: httpx.Client) -> None:
    long_id = client.post("/v1/generate/txt2img", json=LONG).json()["job"]["jobId"]
    next_id = client.post("/v1/generate/txt2img", json=QUICK).json()["job"]["jobId"]
    running = _wait_status(client, long_id, {"in-progress"})
    assert 0 <= running["progress"] < 1
    started = time.monotonic()
    response = client.post(f"/v1/jobs/{long_id}/action", json={"action": "cancel"})
    assert response.status_code == 200, response.text
    assert_matches("PostJobActionByJobIdResponse", response.json())
    assert response.json()["job"]["status"] == "canceled"
    assert time.monotonic() - started < 5
    assert wait_for(client, next_id)["status"] == "success"
    # A finished job cannot be canceled; an unknown action is refused.
    assert client.post(f"/v1/jobs/{long_id}/action", json={"action": "cancel"}).status_code == 409
    assert client.post(f"/v1/jobs/{next_id}/action", json={"action": "pause"}).status_code == 400
    assert client.post("/v1/jobs/job_nope/action", json={"action": "cancel"}).status_code == 404


def test_cancel_a_queued_job_is_immediate(client: httpx.Client) -> None:
    long_id = client.post("/v1/generate/txt2img", json=LONG).json()["job"]["jobId"]
    queued_id = client.post("/v1/generate/txt2img", json=QUICK).json()["job"]["jobId"]
    canceled = client.post(f"/v1/jobs/{queued_id}/action", json={"action": "cancel"}).json()["job"]
    assert canceled["status"] == "canceled"
    assert [h["status"] for h in canceled["statusHistory"]] == ["queued", "canceled"]
    client.post(f"/v1/jobs/{long_id}/action", json={"action": "cancel"})
    assert wait_for(client, long_id)["status"] == "canceled"


def test_intermediate_images_are_reachable_while_the_job_runs(client: httpx.Client) -> None:
    body = {**LONG, "numSamples": 1, "intermediateImages": True}
    job_id = client.post("/v1/generate/txt2img", json=body).json()["job"]["jobId"]
    deadline = time.monotonic() + 60
    urls: list[str] = []
    while time.monotonic() < deadline and not urls:
        job = client.get(f"/v1/jobs/{job_id}").json()["job"]
        urls = job["metadata"]["output"].get("intermediateImages", [])
        time.sleep(0.02)
    assert urls, "no previews while running"
    preview = httpx.get(urls[0])
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    client.post(f"/v1/jobs/{job_id}/action", json={"action": "cancel"})
    ended = wait_for(client, job_id)
    assert "intermediateImages" not in ended["metadata"]["output"]


def test_fifty_concurrent_submissions_all_complete(client: httpx.Client) -> None:
    def submit(i: int) -> str:
        response = client.post("/v1/generate/txt2img", json={**QUICK, "seed": i})
        assert response.status_code == 200, response.text
        job_id: str = response.json()["job"]["jobId"]
        return job_id

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(submit, range(50)))
    assert len(set(ids)) == 50
    jobs = [wait_for(client, job_id, timeout_s=300) for job_id in ids]
    assert all(j["status"] == "success" for j in jobs)
    assert all(len(j["metadata"]["assetIds"]) == 1 for j in jobs)
    # First come, first served: they ran in submission order.
    starts = {j["jobId"]: next(h["date"] for h in j["statusHistory"] if h["status"] != "queued") for j in jobs}
    created = sorted(jobs, key=lambda j: (j["createdAt"], starts[j["jobId"]]))
    assert [starts[j["jobId"]] for j in created] == sorted(starts.values())


def test_job_listing_filters_and_pages(client: httpx.Client) -> None:
    ids = [client.post("/v1/generate/txt2img", json=QUICK).json()["job"]["jobId"] for _ in range(3)]
    hidden = client.post("/v1/generate/txt2img", json={**QUICK, "hideResults": True}).json()["job"]["jobId"]
    for job_id in [*ids, hidden]:
        wait_for(client, job_id)
    first = client.get("/v1/jobs", params={"pageSize": 2}).json()
    assert_matches("GetJobsResponse", first)
    assert len(first["jobs"]) == 2 and first["nextPaginationToken"]
    second = client.get("/v1/jobs", params={"pageSize": 2, "paginationToken": first["nextPaginationToken"]}).json()
    assert {j["jobId"] for j in first["jobs"]}.isdisjoint(j["jobId"] for j in second["jobs"])
    shown = client.get("/v1/jobs", params={"pageSize": 200, "hideResults": "false"}).json()["jobs"]
    assert hidden not in {j["jobId"] for j in shown}
    done = client.get("/v1/jobs", params={"pageSize": 200, "status": "success"}).json()["jobs"]
    assert all(j["status"] == "success" for j in done) and set(ids) <= {j["jobId"] for j in done}
    assert client.get("/v1/jobs", params={"pageSize": 0}).status_code == 400
    assert client.get("/v1/jobs", params={"status": "done"}).status_code == 400
    assert client.get("/v1/jobs", params={"paginationToken": "garbage!"}).status_code == 400
    # hideResults keeps the outputs out of asset listings, though the job lists them.
    hidden_job = client.get(f"/v1/jobs/{hidden}").json()["job"]
    listed = client.get("/v1/assets", params={"inferenceId": hidden}).json()["assets"]
    assert listed == [] and len(hidden_job["metadata"]["assetIds"]) == 1
