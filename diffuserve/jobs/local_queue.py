"""The in-process queue: one worker thread per device takes queued jobs from the database, oldest first."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from diffuserve.jobs.queue import JobEvent, JobListener
from diffuserve.jobs.runner import JobRunner, RunControl
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus

logger = logging.getLogger(__name__)

IDLE_POLL_S = 1.0


class InProcessQueue:
    """FIFO over the jobs table. Durable because the table is the queue: a job is stored before it is
    submitted, and at start every job a crash left running is put back in the queue and re-run."""

    def __init__(self, jobs: JobRepository, make_runner: Callable[[Callable[[JobRecord], None]], JobRunner]) -> None:
        self.jobs = jobs
        self.runner = make_runner(self._emit)
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._listeners: list[JobListener] = []
        self._listeners_lock = threading.Lock()
        self._current: RunControl | None = None
        self._current_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending_wakes = 0

    # -- JobQueue --

    def start(self) -> None:
        requeued = self.jobs.requeue_interrupted()
        for job_id in requeued:
            logger.warning("job re-queued after an interrupted run job_id=%s", job_id)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._work, name="diffuserve-worker-0", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is None:
            return
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            with self._current_lock:
                if self._current is not None:
                    logger.info("shutdown stops the running job job_id=%s", self._current.job_id)
                    self._current.shutdown = True
                    self._current.cancel.set()
            self._thread.join(30)
        self._thread = None

    def submit(self, job_id: str) -> None:
        with self._wake:
            self._pending_wakes += 1
            self._wake.notify_all()

    def cancel(self, job_id: str) -> bool:
        canceled = self.jobs.transition(job_id, JobStatus.CANCELED, expect=(JobStatus.QUEUED,))
        if canceled is not None:
            logger.info("job canceled while queued job_id=%s", job_id)
            self._emit(canceled)
            return True
        with self._current_lock:
            if self._current is not None and self._current.job_id == job_id:
                self._current.canceled = True
                self._current.cancel.set()
                return True
        return False

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # -- worker --

    def _emit(self, job: JobRecord) -> None:
        event = JobEvent(job.id, job.status, job.progress)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("job listener failed job_id=%s", job.id)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self.jobs.next_queued()
            except Exception:
                logger.exception("worker could not read the queue")
                job = None
            if job is None:
                with self._wake:
                    if self._pending_wakes == 0 and not self._stopping.is_set():
                        self._wake.wait(IDLE_POLL_S)
                    self._pending_wakes = 0
                continue
            control = RunControl(job.id, threading.Event())
            with self._current_lock:
                self._current = control
            try:
                self.runner.run(job, control)
            except Exception as exc:
                logger.exception("worker crashed on a job job_id=%s", job.id)
                self._give_up(job.id, exc)
            finally:
                with self._current_lock:
                    self._current = None

    def _give_up(self, job_id: str, exc: Exception) -> None:
        """Fails a job the runner could not take through its lifecycle, so the queue does not pick it again;
        when even that fails (the database is down), waits before the next try instead of spinning."""
        try:
            self.runner.fail(job_id, exc)
        except Exception:
            logger.exception("could not mark the job failed job_id=%s", job_id)
            self._stopping.wait(IDLE_POLL_S)
