"""Sending work to workers: a job for a model that a worker holds goes to that worker's own queue (an idle one
first), any other job to the shared queue that every worker consumes."""

from __future__ import annotations

import logging

from celery import Celery

from diffuserve.jobs.cluster.celery_app import SHARED_QUEUE, TASK, worker_queue
from diffuserve.jobs.cluster.redis_bus import RedisBus, WorkerInfo
from diffuserve.storage.job_repository import JobRepository

logger = logging.getLogger(__name__)


def pick_queue(model_id: str, workers: list[WorkerInfo]) -> str:
    """The queue of a worker holding `model_id` (idle ones first, then the least recently busy), else the shared
    queue."""
    holders = [w for w in workers if model_id in w.loaded]
    if not holders:
        return SHARED_QUEUE
    holders.sort(key=lambda w: (w.state != "idle", w.name))
    return worker_queue(holders[0].name)


class CeleryDispatcher:
    def __init__(self, celery: Celery, bus: RedisBus, jobs: JobRepository) -> None:
        self.celery = celery
        self.bus = bus
        self.jobs = jobs

    def dispatch(self, job_id: str) -> None:
        """Never fails the caller: a job whose message is lost stays queued and the reaper sends it again."""
        try:
            model_id = str(self.jobs.get(job_id).input.get("modelId"))
            queue = pick_queue(model_id, self.bus.workers())
            self.celery.send_task(TASK, args=[job_id], queue=queue, retry=False)
            logger.info("job dispatched job_id=%s queue=%s", job_id, queue)
        except Exception as exc:
            logger.warning("job not dispatched, the reaper will retry job_id=%s error=%s", job_id, exc)

    def queue_length(self, queue: str = SHARED_QUEUE) -> int | None:
        """Messages waiting in a queue (the Redis transport keeps each queue as a list); None if unknown."""
        try:
            return int(self.bus.redis.llen(queue))
        except Exception:
            return None
