"""The worker: claims batches of compatible jobs from the queue (the jobs table) and runs them on one engine.

cog's shape: an explicit state, a thread that owns the engine, and typed events out (through the EventBus);
cancel requests come in the same way. The engine is built on the worker's own thread, so a process that starts a
worker answers requests (and MCP's initialize) while torch and the models load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from diffuserve.catalog.batching import BatchKey, stored_batch_key
from diffuserve.catalog.types import Mode
from diffuserve.errors import DiffuserveError
from diffuserve.jobs.batching import Candidate, select_batch
from diffuserve.jobs.events import CancelRequest, EventBus
from diffuserve.jobs.runner import JobRunner, RunControl
from diffuserve.storage.asset_store import AssetStore
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.timeutil import utcnow

if TYPE_CHECKING:
    from diffuserve.engine.engine import Engine

logger = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
CANDIDATES = 256  # queued jobs looked at when forming a batch


class WorkerState(StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


class Worker:
    """One engine, one thread: takes the next batch (select_batch), waits up to `batch_window_s` for more jobs
    of its key while it is not full, claims its jobs and runs them."""

    def __init__(
        self,
        *,
        make_engine: Callable[[], Engine],
        jobs: JobRepository,
        assets: AssetStore,
        blobs: BlobStore,
        bus: EventBus,
        max_images: int,
        batch_window_s: float,
        affinity_max_wait_s: float,
        name: str = "diffuserve-worker-0",
    ) -> None:
        self.make_engine = make_engine
        self.jobs = jobs
        self.assets = assets
        self.blobs = blobs
        self.bus = bus
        self.max_images = max_images
        self.batch_window_s = batch_window_s
        self.affinity_max_wait_s = affinity_max_wait_s
        self.name = name
        self.state = WorkerState.STOPPED
        self.engine: Engine | None = None
        self.ready = threading.Event()  # the engine is built
        self._runner: JobRunner | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._controls: dict[str, RunControl] = {}
        self._controls_lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    # -- life cycle --

    def start(self) -> None:
        """Re-queues what a crash interrupted, then starts the thread (which builds the engine first)."""
        for job_id in self.jobs.requeue_interrupted():
            logger.warning("job re-queued after an interrupted run job_id=%s", job_id)
        self._stopping.clear()
        self._unsubscribe = self.bus.on_cancel(self._on_cancel)
        self.state = WorkerState.STARTING
        self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float) -> None:
        """Lets the running batch finish for up to timeout_s, then stops its jobs (they go back to the queue)."""
        self._stopping.set()
        self.bus.notify_work()
        if self._thread is not None:
            self.state = WorkerState.DRAINING
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                with self._controls_lock:
                    controls = list(self._controls.values())
                for control in controls:
                    logger.info("shutdown stops the running job job_id=%s", control.job_id)
                    control.shutdown = True
                    control.cancel.set()
                self._thread.join(30)
            self._thread = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.state = WorkerState.STOPPED

    def running_jobs(self) -> list[str]:
        with self._controls_lock:
            return list(self._controls)

    def _on_cancel(self, request: CancelRequest) -> None:
        with self._controls_lock:
            control = self._controls.get(request.job_id)
        if control is not None:
            control.canceled = True
            control.cancel.set()

    # -- the loop --

    def _work(self) -> None:
        try:
            self.engine = self.make_engine()
        except Exception:
            logger.exception("the worker could not build its engine; no job will run")
            self.state = WorkerState.STOPPED
            return
        self._runner = JobRunner(
            engine=self.engine, jobs=self.jobs, assets=self.assets, blobs=self.blobs, publish=self.bus.publish
        )
        self.ready.set()
        self.state = WorkerState.IDLE
        while not self._stopping.is_set():
            try:
                controls = self._claim_batch()
            except Exception:
                logger.exception("worker could not read the queue")
                self._stopping.wait(IDLE_POLL_S)
                continue
            if not controls:
                self.bus.wait_for_work(IDLE_POLL_S)
                continue
            self.state = WorkerState.RUNNING
            try:
                self._runner.run(controls)
            except Exception as exc:
                logger.exception("worker crashed on a batch job_ids=%s", [c.job_id for c in controls])
                for control in controls:
                    self._give_up(control.job_id, exc)
            finally:
                with self._controls_lock:
                    for control in controls:
                        self._controls.pop(control.job_id, None)
                if not self._stopping.is_set():
                    self.state = WorkerState.IDLE

    def _candidates(self) -> list[Candidate]:
        """Queued jobs, oldest first; one whose stored input cannot be read fails here, so the queue moves on."""
        now = utcnow()
        candidates = []
        for job in self.jobs.queued(limit=CANDIDATES):
            try:
                key = stored_batch_key(Mode(job.mode), job.input)
                images = int(job.input.get("numSamples", 1))
            except (ValueError, KeyError, TypeError) as exc:
                self._give_up(job.id, exc)
                continue
            candidates.append(Candidate(job.id, key, images, (now - job.created_at).total_seconds()))
        return candidates

    def _is_loaded(self, key: BatchKey) -> bool:
        assert self.engine is not None
        try:
            return self.engine.is_loaded(key.model_id, key.mode)
        except DiffuserveError:
            return False

    def _select(self, key: BatchKey | None = None) -> list[Candidate]:
        candidates = self._candidates()
        if key is not None:
            candidates = [c for c in candidates if c.key == key]
        return select_batch(
            candidates,
            is_loaded=self._is_loaded,
            max_images=self.max_images,
            max_wait_s=self.affinity_max_wait_s,
        )

    def _claim_batch(self) -> list[RunControl]:
        chosen = self._select()
        if not chosen:
            return []
        # Not full: wait a moment for more jobs of the same key (many small requests arrive together).
        deadline = time.monotonic() + self.batch_window_s
        while sum(c.images for c in chosen) < self.max_images and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or not self.bus.wait_for_work(left):
                break
            chosen = self._select(chosen[0].key) or chosen
        return self._claim([c.job_id for c in chosen], loaded=self._is_loaded(chosen[0].key))

    def _claim(self, job_ids: list[str], *, loaded: bool) -> list[RunControl]:
        assert self._runner is not None
        controls = []
        for job_id in job_ids:
            # Registered before the claim, so a cancel that comes right after it is not missed.
            control = RunControl(job=self.jobs.get(job_id), cancel=threading.Event())
            with self._controls_lock:
                self._controls[job_id] = control
            job = self._runner.claim(control.job, loaded=loaded)
            if job is None:
                with self._controls_lock:
                    self._controls.pop(job_id, None)
                continue
            control.job = job
            controls.append(control)
        if controls:
            logger.info(
                "batch claimed jobs=%d images=%d job_ids=%s",
                len(controls),
                sum(int(c.job.input.get("numSamples", 1)) for c in controls),
                ",".join(c.job_id for c in controls),
            )
        return controls

    def _give_up(self, job_id: str, exc: Exception) -> None:
        """Fails a job the runner could not take through its lifecycle, so the queue does not pick it again;
        when even that fails (the database is down), waits before the next try instead of spinning."""
        try:
            if self._runner is not None:
                self._runner.fail(job_id, exc)
        except Exception:
            logger.exception("could not mark the job failed job_id=%s", job_id)
            self._stopping.wait(IDLE_POLL_S)
