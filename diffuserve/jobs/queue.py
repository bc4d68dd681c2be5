"""The queue interface the service layer talks to; the in-process and distributed backends implement it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from diffuserve.storage.records import JobStatus


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job: its status or progress changed, or new previews were stored."""

    job_id: str
    status: JobStatus
    progress: float


JobListener = Callable[[JobEvent], None]


class JobQueue(Protocol):
    """Runs accepted jobs in submission order. The database is the source of truth; the queue only wakes
    workers, carries cancel flags and broadcasts events."""

    def start(self) -> None:
        """Re-queue what a crash interrupted and start the workers."""

    def stop(self, *, timeout_s: float) -> None:
        """Let the running job finish for up to timeout_s, then stop it and put it back in the queue."""

    def submit(self, job_id: str) -> None:
        """A queued job was stored; wake a worker."""

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job at once (announcing it like any other end) or raise the cancel flag of a
        running one; False when the job is neither queued nor run by a worker of this queue."""

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        """Hear every JobEvent (on worker threads); returns the function that unsubscribes."""
