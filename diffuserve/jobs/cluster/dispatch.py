"""Sending work to workers: a job for a model that a worker holds goes to that worker's own queue (an idle one
first, else the one with the least waiting), any other job to the shared queue that every worker consumes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Celery

from diffuserve.jobs.cluster.celery_app import SHARED_QUEUE, TASK, worker_queue
from diffuserve.jobs.cluster.redis_bus import RedisBus, WorkerInfo
from diffuserve.storage.job_repository import JobRepository

logger = logging.getLogger(__name__)


def pick_queue(model_id: str, workers: list[WorkerInfo], backlog: Callable[[str], int]) -> str:
    """Where a job for `model_id` goes: an idle worker holding the model with nothing waiting for it; else the
    holder with the shortest backlog, unless a worker without the model is idle while every holder has work
    waiting (then the shared queue, where the idle one takes it and loads the model); no holder: shared."""
    holders = sorted((w for w in workers if model_id in w.loaded), key=lambda w: w.name)
    if not holders:
        return SHARED_QUEUE
    waiting = {w.name: backlog(worker_queue(w.name)) for w in holders}
    idle = [w for w in holders if w.state == "idle" and waiting[w.name] == 0]
    if idle:
        return worker_queue(idle[0].name)
    least = min(holders, key=lambda w: (waiting[w.name], w.state != "idle", w.name))
    others_idle = any(w.state == "idle" and model_id not in w.loaded for w in workers)
    if waiting[least.name] > 0 and others_idle:
        return SHARED_QUEUE
    return worker_queue(least.name)


class CeleryDispatcher:
    def __init__(self, celery: Celery, bus: RedisBus, jobs: JobRepository) -> None:
        self.celery = celery
        self.bus = bus
        self.jobs = jobs

    def dispatch(self, job_id: str) -> None:
        """Never fails the caller: a job whose message is lost stays queued and the reaper sends it again."""
        try:
            model_id = str(self.jobs.get(job_id).input.get("modelId"))
            queue = pick_queue(model_id, self.bus.workers(), self._backlog)
            self.celery.send_task(TASK, args=[job_id], queue=queue, retry=False)
            logger.info("job dispatched job_id=%s queue=%s", job_id, queue)
        except Exception as exc:
            logger.warning("job not dispatched, the reaper will retry job_id=%s error=%s", job_id, exc)

    def _backlog(self, queue: str) -> int:
        return self.queue_length(queue) or 0

    def queue_length(self, queue: str = SHARED_QUEUE) -> int | None:
        """Messages waiting in a queue (the Redis transport keeps each queue as a list); None if unknown."""
        try:
            return int(self.bus.redis.llen(queue))
        except Exception:
            return None
