"""The submitting side's view of the job system (vLLM's EngineClient shape): submit, cancel, hear events.

Front ends (service/, api/, mcp/) use only this protocol, so they never depend on where the worker runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from diffuserve.jobs.events import CancelRequest, EventBus, JobEvent, JobListener
from diffuserve.storage.job_repository import CancelOutcome, JobRepository

logger = logging.getLogger(__name__)


class JobClient(Protocol):
    def submit(self, job_id: str) -> None:
        """A queued job was stored; let a worker know."""

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job at once (announced like any other end) or ask the worker running it to stop
        within a step; False when the job is neither queued nor running."""

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        """Hear every JobEvent (on other threads); returns the function that unsubscribes."""


class BusJobClient:
    """A JobClient over the jobs table (the queue) and an EventBus (in-process or distributed)."""

    def __init__(self, jobs: JobRepository, bus: EventBus, dispatch: Callable[[str], None] | None = None) -> None:
        self.jobs = jobs
        self.bus = bus
        self.dispatch = dispatch  # sends work to other processes (Celery); None: the bus wakes a local worker

    def submit(self, job_id: str) -> None:
        if self.dispatch is not None:
            self.dispatch(job_id)
        else:
            self.bus.notify_work()

    def cancel(self, job_id: str) -> bool:
        """The request is stored with the job first, so it holds across restarts and missed messages."""
        job, outcome = self.jobs.request_cancel(job_id)
        if outcome is CancelOutcome.CANCELED:
            logger.info("job canceled while queued job_id=%s", job_id)
            self.bus.publish(JobEvent(job.id, job.status, job.progress))
            return True
        if outcome is CancelOutcome.FINISHED:
            return False
        logger.info("cancel requested job_id=%s", job_id)
        self.bus.request_cancel(CancelRequest(job_id))
        return True

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        return self.bus.subscribe(listener)
