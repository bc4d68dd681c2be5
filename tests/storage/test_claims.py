"""Claims under leases, on SQLite and PostgreSQL: a queued job goes to one claimer only, leases are renewed by
their owner, and a job whose lease ran out goes back to the queue (failing after MAX_RUNS interrupted runs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from diffuserve.storage.database import Database
from diffuserve.storage.job_repository import MAX_RUNS, JobRepository
from diffuserve.storage.records import JobRecord, JobStatus
from diffuserve.storage.timeutil import utcnow
from tests.storage.databases import BACKENDS, database_url

ROUNDS = 50


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, request, tmp_path) as url:
        Database(url).upgrade()
        yield url


@pytest.fixture()
def jobs(url: str) -> Iterator[JobRepository]:
    db = Database(url)
    yield JobRepository(db)
    db.close()


def _submit(jobs: JobRepository, count: int, prefix: str = "job") -> list[str]:
    return [
        jobs.insert(
            job_id=f"{prefix}_{n}",
            mode="txt2img",
            input={"modelId": "m", "prompt": "p"},
            author_id="a",
            owner_id="o",
            hide_results=False,
        ).id
        for n in range(count)
    ]


def test_claim_takes_only_queued_jobs_in_submission_order(jobs: JobRepository) -> None:
    first, taken, canceled, last = _submit(jobs, 4)
    jobs.transition(canceled, JobStatus.CANCELED)
    assert [j.id for j in jobs.claim(job_ids=[taken], owner="worker-b", lease_s=30)] == [taken]

    before = utcnow()
    claimed = jobs.claim(job_ids=[last, canceled, "job_missing", taken, first], owner="worker-a", lease_s=30)
    assert [j.id for j in claimed] == [first, last]
    for job in claimed:
        assert job.status == JobStatus.IN_PROGRESS and job.lease_owner == "worker-a"
        assert job.lease_expires_at is not None
        assert before + timedelta(seconds=29) < job.lease_expires_at < utcnow() + timedelta(seconds=31)
        assert [h.status for h in job.status_history] == [JobStatus.QUEUED, JobStatus.IN_PROGRESS]
        assert jobs.get(job.id) == job
    assert jobs.get(taken).lease_owner == "worker-b"
    assert jobs.get(canceled).status == JobStatus.CANCELED and jobs.get(canceled).lease_owner is None
    assert jobs.claim(job_ids=[], owner="worker-a", lease_s=30) == []


def test_claim_sets_the_status_the_caller_picks(jobs: JobRepository) -> None:
    cold, warm = _submit(jobs, 2)

    def status_for(job: JobRecord) -> JobStatus:
        return JobStatus.WARMING_UP if job.id == cold else JobStatus.IN_PROGRESS

    claimed = jobs.claim(job_ids=[cold, warm], owner="w", lease_s=30, status_for=status_for)
    assert [(j.id, j.status) for j in claimed] == [(cold, JobStatus.WARMING_UP), (warm, JobStatus.IN_PROGRESS)]


def test_a_claim_that_picks_a_non_running_status_changes_nothing(jobs: JobRepository) -> None:
    first, second = _submit(jobs, 2)
    with pytest.raises(ValueError, match="must be running"):
        jobs.claim(job_ids=[first, second], owner="w", lease_s=30, status_for=lambda job: JobStatus.SUCCESS)
    assert [j.id for j in jobs.queued(limit=10)] == [first, second]
    assert jobs.get(first).lease_owner is None


def test_concurrent_claimers_never_take_the_same_job(url: str) -> None:
    """Two pools, as two worker processes would have, race for the same jobs; each job goes to exactly one."""
    dbs = [Database(url), Database(url)]
    repos = [JobRepository(db) for db in dbs]
    start = threading.Barrier(2)

    def claim(repo: JobRepository, owner: str, ids: list[str]) -> list[str]:
        start.wait()
        return [job.id for job in repo.claim(job_ids=ids, owner=owner, lease_s=30)]

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for round_ in range(ROUNDS):
                ids = _submit(repos[0], 4, prefix=f"round{round_}")
                a, b = pool.map(claim, repos, ["a", "b"], [ids, list(reversed(ids))])
                assert not set(a) & set(b), f"round {round_}: both claimed {set(a) & set(b)}"
                assert sorted(a + b) == sorted(ids)
                owners = {job_id: repos[0].get(job_id).lease_owner for job_id in ids}
                assert owners == {**dict.fromkeys(a, "a"), **dict.fromkeys(b, "b")}
    finally:
        for db in dbs:
            db.close()


def test_renew_extends_only_the_owners_running_leases(jobs: JobRepository) -> None:
    mine, theirs, finished, queued = _submit(jobs, 4)
    jobs.claim(job_ids=[mine, finished], owner="a", lease_s=10)
    jobs.claim(job_ids=[theirs], owner="b", lease_s=10)
    jobs.transition(finished, JobStatus.SUCCESS, progress=1.0)
    theirs_until = jobs.get(theirs).lease_expires_at

    assert jobs.renew_leases(owner="a", job_ids=[mine, theirs, finished, queued], lease_s=600) == 1
    renewed = jobs.get(mine).lease_expires_at
    assert renewed is not None and renewed > utcnow() + timedelta(seconds=590)
    assert jobs.get(theirs).lease_expires_at == theirs_until and jobs.get(theirs).lease_owner == "b"
    assert jobs.get(finished).lease_owner is None and jobs.get(finished).lease_expires_at is None
    assert jobs.get(queued).lease_owner is None
    assert jobs.renew_leases(owner="a", job_ids=[], lease_s=600) == 0


def test_leaving_the_running_states_clears_the_lease(jobs: JobRepository) -> None:
    job_id = _submit(jobs, 1)[0]
    jobs.claim(job_ids=[job_id], owner="a", lease_s=30)
    still = jobs.transition(job_id, JobStatus.FINALIZING)
    assert still is not None and still.lease_owner == "a"
    back = jobs.transition(job_id, JobStatus.QUEUED, progress=0.0)
    assert back is not None and back.lease_owner is None and back.lease_expires_at is None


def test_requeue_expired_leaves_live_leases_alone(jobs: JobRepository) -> None:
    expired, live, queued = _submit(jobs, 3)
    jobs.claim(job_ids=[expired], owner="dead", lease_s=60)
    jobs.claim(job_ids=[live], owner="alive", lease_s=3600)
    assert jobs.requeue_expired() == []

    assert jobs.requeue_expired(now=utcnow() + timedelta(minutes=5)) == [expired]
    back = jobs.get(expired)
    assert back.status == JobStatus.QUEUED and back.lease_owner is None and back.lease_expires_at is None
    assert [h.status for h in back.status_history] == [JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.QUEUED]
    assert jobs.get(live).status == JobStatus.IN_PROGRESS and jobs.get(live).lease_owner == "alive"
    assert [j.id for j in jobs.queued(limit=10)] == [expired, queued]


def test_requeue_expired_fails_a_job_after_max_runs(jobs: JobRepository) -> None:
    job_id = _submit(jobs, 1)[0]
    later = utcnow() + timedelta(hours=1)
    for run in range(MAX_RUNS):
        assert [j.id for j in jobs.claim(job_ids=[job_id], owner=f"w{run}", lease_s=1)] == [job_id]
        requeued = jobs.requeue_expired(now=later)
        assert requeued == ([job_id] if run < MAX_RUNS - 1 else [])
    failed = jobs.get(job_id)
    assert failed.status == JobStatus.FAILURE and failed.lease_owner is None
    assert failed.error == f"the server stopped during all {MAX_RUNS} runs of this job; not run again"
    assert failed.output == {"error": failed.error}
    assert jobs.claim(job_ids=[job_id], owner="w", lease_s=1) == []


def test_a_worker_whose_lease_went_to_another_can_no_longer_write_the_job(jobs: JobRepository) -> None:
    (job_id,) = _submit(jobs, 1)
    jobs.claim(job_ids=[job_id], owner="worker-a", lease_s=0.01)
    jobs.requeue_expired(now=utcnow() + timedelta(seconds=1))  # worker-a stalled; its lease ran out
    jobs.claim(job_ids=[job_id], owner="worker-b", lease_s=30)
    assert jobs.transition(job_id, JobStatus.SUCCESS, owner="worker-a") is None  # fenced off
    assert jobs.get(job_id).status == JobStatus.IN_PROGRESS
    done = jobs.transition(job_id, JobStatus.SUCCESS, owner="worker-b")
    assert done is not None and done.status == JobStatus.SUCCESS and done.lease_owner is None
