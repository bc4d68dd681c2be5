"""Where a job's message goes: to a worker that holds its model while it can take it, else where it waits least."""

from __future__ import annotations

from diffuserve.jobs.cluster.celery_app import SHARED_QUEUE, worker_queue
from diffuserve.jobs.cluster.dispatch import pick_queue
from diffuserve.jobs.cluster.redis_bus import WorkerInfo


def worker(name: str, state: str, *models: str) -> WorkerInfo:
    return WorkerInfo(name, state, models, 0.0)


def pick(model: str, workers: list[WorkerInfo], waiting: dict[str, int] | None = None) -> str:
    return pick_queue(model, workers, lambda queue: (waiting or {}).get(queue, 0))


def test_no_worker_holds_the_model_so_any_worker_takes_it() -> None:
    assert pick("m", [worker("a", "idle", "other")]) == SHARED_QUEUE
    assert pick("m", []) == SHARED_QUEUE


def test_an_idle_holder_with_nothing_waiting_gets_it() -> None:
    workers = [worker("a", "running", "m"), worker("b", "idle", "m"), worker("c", "idle", "other")]
    assert pick("m", workers) == worker_queue("b")
    assert pick("m", workers, {worker_queue("b"): 1}) == worker_queue("a")  # b already has one waiting


def test_busy_holders_share_the_work_by_backlog() -> None:
    workers = [worker("a", "running", "m"), worker("b", "running", "m")]
    assert pick("m", workers, {worker_queue("a"): 2, worker_queue("b"): 1}) == worker_queue("b")
    assert pick("m", workers) == worker_queue("a")  # nothing waiting anywhere: the holder takes it next


def test_work_waiting_behind_busy_holders_goes_to_an_idle_worker_without_the_model() -> None:
    workers = [worker("a", "running", "m"), worker("b", "idle", "other")]
    assert pick("m", workers) == worker_queue("a")  # a takes it as soon as it is free
    assert pick("m", workers, {worker_queue("a"): 1}) == SHARED_QUEUE
