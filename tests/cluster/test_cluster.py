"""The cluster on its bad days, against real PostgreSQL, Redis and S3 servers: workers and API replicas killed,
Redis restarted, the database away, cancel across machines, and jobs routed to the worker holding their model."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import httpx
import psycopg

from diffuserve.localcluster import Cluster, restart_postgres, restart_redis, stop_postgres
from tests.cluster.conftest import TINY, client, lease_owner, ran_on, restart, submit, wait_for

SLOW = {**TINY, "numSamples": 2, "numInferenceSteps": 150}


def s3_keys(cluster: Cluster) -> set[str]:
    query = parse_qs(urlparse(cluster.blob_store_url).query)
    s3 = boto3.client(
        "s3",
        endpoint_url=query["endpoint_url"][0],
        region_name="us-east-1",
        aws_access_key_id="diffuserve",
        aws_secret_access_key="diffuserve",
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="diffuserve", Prefix="assets/assets/")
    return {obj["Key"].removeprefix("assets/") for page in pages for obj in page.get("Contents", [])}


def asset_keys(cluster: Cluster) -> set[str]:
    with psycopg.connect(cluster.database_url) as db:
        return {row[0] for row in db.execute("SELECT blob_key FROM assets WHERE NOT deleted")}


def running_on_a_worker(cluster: Cluster, c: httpx.Client, job_id: str) -> str:
    """Waits until the job is denoising on some worker; returns that worker's name."""
    deadline = time.monotonic() + 120
    while True:
        job = c.get(f"/v1/jobs/{job_id}").json()["job"]
        owner = lease_owner(cluster, job_id)
        if job["status"] == "in-progress" and job["progress"] > 0 and owner:
            return owner
        assert job["status"] not in ("success", "failure", "canceled"), job["status"]
        assert time.monotonic() < deadline, "the job never ran"
        time.sleep(0.05)


def test_a_job_submitted_to_one_replica_finishes_on_a_worker_and_is_read_on_the_other(cluster: Cluster) -> None:
    with client(cluster, 0) as a, client(cluster, 1) as b:
        job_id = submit(a, {**TINY, "numSamples": 2})
        job = wait_for(b, job_id)
        assert job["status"] == "success" and len(job["metadata"]["assetIds"]) == 2
        asset = b.get(f"/v1/assets/{job['metadata']['assetIds'][0]}").json()["asset"]
        image = httpx.get(asset["url"], timeout=30)  # signed by replica B, bytes from S3
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        assert a.get("/readyz").json() == {
            "ready": True,
            "checks": {"database": True, "redis": True, "blob_store": True},
        }
        assert "diffuserve_worker_up" in a.get("/metrics").text
    assert len(ran_on(cluster, job_id)) == 1


def test_kill_9_of_a_worker_mid_batch_reruns_its_jobs_elsewhere(cluster: Cluster) -> None:
    with client(cluster) as c:
        job_id = submit(c, SLOW)
        owner = running_on_a_worker(cluster, c, job_id)
        victim = cluster.procs[owner]
        victim.kill(signal.SIGKILL)
        job = wait_for(c, job_id, timeout_s=180)
        assert job["status"] == "success"
        assets = c.get("/v1/assets", params={"inferenceId": job_id}).json()["assets"]
        assert len(assets) == 2 == len(job["metadata"]["assetIds"])  # no duplicates from the interrupted run
        history = [h["status"] for h in job["statusHistory"]]
        assert history.count("queued") == 2, history  # re-queued once when its lease expired
    survivor = next(p.name for p in cluster.workers() if p.name != owner)
    assert ran_on(cluster, job_id) == sorted([owner, survivor])
    assert s3_keys(cluster) == asset_keys(cluster)  # no orphaned objects
    restart(cluster, victim)


def test_kill_9_of_an_api_replica_loses_nothing_accepted(cluster: Cluster) -> None:
    with client(cluster, 0) as a, client(cluster, 1) as b:
        job_ids = [submit(a, {**TINY, "seed": i}) for i in range(6)]
        cluster.procs["api-1"].kill(signal.SIGKILL)
        assert [wait_for(b, j)["status"] for j in job_ids] == ["success"] * 6
    restart(cluster, cluster.procs["api-1"])


def test_redis_restarted_while_jobs_are_queued_and_running(cluster: Cluster) -> None:
    with client(cluster) as c:
        job_ids = [submit(c, {**SLOW, "numInferenceSteps": 40, "seed": i}) for i in range(4)]
        running_on_a_worker(cluster, c, job_ids[0])
        restart_redis(cluster)
        assert [wait_for(c, j, timeout_s=180)["status"] for j in job_ids] == ["success"] * 4
        job_id = submit(c)  # dispatch and events work again after the restart
        assert wait_for(c, job_id)["status"] == "success"


def test_the_database_away_for_seconds_answers_503_and_loses_nothing(cluster: Cluster) -> None:
    root = Path(cluster.postgres_dir)
    with client(cluster) as c:
        job_ids = [submit(c, {**SLOW, "numInferenceSteps": 60, "seed": i}) for i in range(3)]
        running_on_a_worker(cluster, c, job_ids[0])
        stop_postgres(root, mode="fast")
        try:
            response = c.get(f"/v1/jobs/{job_ids[0]}")
            assert response.status_code == 503, response.text
            assert response.json()["reason"] == "database_unavailable" and response.headers["Retry-After"]
            posted = c.post("/v1/generate/txt2img", json=TINY)
            assert posted.status_code == 503 and posted.json()["reason"] == "database_unavailable"
            assert c.get("/readyz").status_code == 503
            time.sleep(3)
        finally:
            restart_postgres(root, cluster.postgres_port)
        assert [wait_for(c, j, timeout_s=180)["status"] for j in job_ids] == ["success"] * 3


def test_cancel_on_replica_a_stops_a_job_running_on_another_machine_within_a_step(cluster: Cluster) -> None:
    with client(cluster, 0) as a, client(cluster, 1) as b:
        job_id = submit(b, {**SLOW, "numInferenceSteps": 150})
        running_on_a_worker(cluster, a, job_id)
        started = time.monotonic()
        canceled = a.post(f"/v1/jobs/{job_id}/action", json={"action": "cancel"}).json()["job"]
        job = canceled if canceled["status"] == "canceled" else wait_for(a, job_id, timeout_s=10)
        assert job["status"] == "canceled"
        assert time.monotonic() - started < 5
        assert job["progress"] < 0.9


def test_jobs_go_to_the_worker_that_holds_their_model(cluster: Cluster) -> None:
    first, second = cluster.workers()
    threads = [
        threading.Thread(
            target=restart, args=(cluster, first), kwargs={"env": {"DIFFUSERVE_PRELOAD_MODELS": "tiny-sd15"}}
        ),
        threading.Thread(
            target=restart, args=(cluster, second), kwargs={"env": {"DIFFUSERVE_PRELOAD_MODELS": "tiny-sd15-file"}}
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(2)  # heartbeats with the loaded models
    with client(cluster) as c:
        for i in range(3):
            for model, worker in (("tiny-sd15", first.name), ("tiny-sd15-file", second.name)):
                job_id = submit(c, {**TINY, "modelId": model, "seed": i})
                assert wait_for(c, job_id)["status"] == "success"
                assert ran_on(cluster, job_id) == [worker], (model, i)
