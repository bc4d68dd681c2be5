"""The worker: claims batches of compatible jobs from the queue (the jobs table) and runs them on one engine.

cog's shape: an explicit state, one engine, typed events out through the EventBus and cancel requests in. Embedded
(`start`), it runs its own loop on a thread that first builds the engine, so the process answers requests while
torch and the models load. In a cluster (`open` + `run_once` per Celery message), the message only hints where
work is; the claim, under a lease that a maintenance thread renews, decides who runs it.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from diffuserve.catalog.batching import BatchKey, stored_batch_key
from diffuserve.catalog.types import Mode
from diffuserve.errors import DiffuserveError
from diffuserve.jobs.batching import Candidate, select_batch
from diffuserve.jobs.events import CancelRequest, EventBus
from diffuserve.jobs.metrics import WorkerMetrics
from diffuserve.jobs.runner import JobRunner, RunControl
from diffuserve.storage.asset_store import AssetStore
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus
from diffuserve.storage.timeutil import utcnow

if TYPE_CHECKING:
    from diffuserve.engine.engine import Engine

logger = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
# After the shutdown grace, how long a stopped job may take to reach the end of its denoising step before the
# worker gives it back to the queue itself (its thread is left to die with the process).
STOP_WAIT_S = 5.0
CANDIDATES = 256  # queued jobs looked at when forming a batch


class WorkerState(StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


Heartbeat = Callable[["Worker"], None]


class Worker:
    """One engine: takes the next batch (select_batch), waits up to `batch_window_s` for more jobs of its key
    while it is not full, claims its jobs under a lease and runs them."""

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
        lease_s: float = 30.0,
        heartbeat: Heartbeat | None = None,
        metrics: WorkerMetrics | None = None,
        preload: Sequence[str] = (),
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
        self.lease_s = lease_s
        self.heartbeat = heartbeat
        self.metrics = metrics
        self.preload = preload
        self.state = WorkerState.STOPPED
        self.engine: Engine | None = None
        self.ready = threading.Event()  # the engine is built
        self._runner: JobRunner | None = None
        self._stopping = threading.Event()
        self._loop: threading.Thread | None = None  # embedded mode only
        self._maintenance: threading.Thread | None = None
        self._controls: dict[str, RunControl] = {}
        self._controls_lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    # -- life cycle --

    def start(self) -> None:
        """Embedded: re-queues what a crash of this (only) process interrupted, then runs the loop on a thread
        that builds the engine first."""
        for job_id in self.jobs.requeue_interrupted():
            logger.warning("job re-queued after an interrupted run job_id=%s", job_id)
        self._begin()
        self._loop = _thread(self._work, self.name)

    def open(self) -> None:
        """Cluster: builds the engine on this thread; jobs then run through run_once."""
        self._begin()
        self._build()

    def stop(self, *, timeout_s: float) -> None:
        """Lets the running batch finish for up to timeout_s, then stops its jobs (they go back to the queue,
        or end canceled when a user asked); a job whose step outlasts that too is given back all the same."""
        self._stopping.set()
        self.bus.notify_work()
        self.state = WorkerState.DRAINING
        if self._loop is not None:
            self._loop.join(timeout_s)
            if self._loop.is_alive():
                self._stop_running_jobs()
                self._loop.join(STOP_WAIT_S)
            if self._loop.is_alive():
                self._release_running_jobs()
            self._loop = None
        if self._maintenance is not None:
            self._maintenance.join(5)
            self._maintenance = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.state = WorkerState.STOPPED

    def running_jobs(self) -> list[str]:
        with self._controls_lock:
            return list(self._controls)

    def loaded_models(self) -> list[str]:
        return sorted({model_id for model_id, _ in self.engine.cache.loaded()}) if self.engine is not None else []

    def _begin(self) -> None:
        self._stopping.clear()
        self._unsubscribe = self.bus.on_cancel(self._on_cancel)
        self.state = WorkerState.STARTING
        self._maintenance = _thread(self._maintain, f"{self.name}-leases")

    def _build(self) -> None:
        self.engine = self.make_engine()
        for model_id in self.preload:
            self.engine.preload(model_id)
            logger.info("model preloaded model_id=%s worker=%s", model_id, self.name)
        self._runner = JobRunner(
            engine=self.engine,
            jobs=self.jobs,
            assets=self.assets,
            blobs=self.blobs,
            publish=self.bus.publish,
            owner=self.name,
        )
        # torch, diffusers and the engine live as long as the process: kept out of the collector's full passes,
        # which would otherwise walk them (a few hundred ms, every request of the process stalled) each time.
        gc.freeze()
        self.ready.set()
        self.state = WorkerState.IDLE

    def _set_state(self, state: WorkerState) -> None:
        """A change of state is told at once (the dispatcher routes by it), not at the next heartbeat."""
        self.state = state
        if self.heartbeat is not None:
            try:
                self.heartbeat(self)
            except Exception as exc:
                logger.warning("heartbeat failed worker=%s error=%s", self.name, exc)

    def _stop_running_jobs(self) -> None:
        with self._controls_lock:
            controls = list(self._controls.values())
        for control in controls:
            logger.info("shutdown stops the running job job_id=%s", control.job_id)
            control.shutdown = True
            control.cancel.set()

    def _release_running_jobs(self) -> None:
        """The batch did not stop within its step: its jobs leave this worker in the database now; the lease
        fence keeps the stuck thread from writing them afterwards."""
        running = self.running_jobs()
        if not running or self._runner is None:
            return
        logger.warning("a step outlasted the shutdown grace; giving its jobs back job_ids=%s", ",".join(running))
        try:
            self._runner.release(running)
        except Exception:
            logger.exception("could not give the running jobs back; the next start re-queues them")

    def _on_cancel(self, request: CancelRequest) -> None:
        with self._controls_lock:
            control = self._controls.get(request.job_id)
        if control is not None:
            control.canceled = True
            control.cancel.set()

    def _maintain(self) -> None:
        """Renews the leases of running jobs, picks up stored cancel requests (a missed message), beats."""
        interval = max(0.2, min(1.0, self.lease_s / 3))
        while not self._stopping.wait(interval):
            try:
                running = self.running_jobs()
                if running:
                    self.jobs.renew_leases(owner=self.name, job_ids=running, lease_s=self.lease_s)
                    for job_id in self._cancels_asked(running):
                        self._on_cancel(CancelRequest(job_id))
                if self.heartbeat is not None:
                    self.heartbeat(self)
            except Exception as exc:
                logger.warning("worker maintenance failed, retrying worker=%s error=%s", self.name, exc)

    # -- the loop --

    def _work(self) -> None:
        try:
            self._build()
        except Exception:
            logger.exception("the worker could not build its engine; no job will run")
            self.state = WorkerState.STOPPED
            return
        while not self._stopping.is_set():
            try:
                ran = self.run_once()
            except Exception:
                logger.exception("worker could not read the queue")
                self._stopping.wait(IDLE_POLL_S)
                continue
            if not ran:
                self.bus.wait_for_work(IDLE_POLL_S)

    def run_once(self, hint: str | None = None) -> bool:
        """Claims and runs one batch (headed by job `hint` while it is still queued); False when nothing was
        queued."""
        controls = self._claim_batch(hint)
        if not controls:
            return False
        self._set_state(WorkerState.RUNNING)
        assert self._runner is not None
        started = time.monotonic()
        try:
            self._runner.run(controls)
            if self.metrics is not None:
                self.metrics.run_seconds.observe(time.monotonic() - started)
                for control in controls:
                    ended = self.jobs.get(control.job_id)
                    self.metrics.ended(ended.status.value, len(ended.asset_ids))
        except Exception as exc:
            logger.exception("worker crashed on a batch job_ids=%s", [c.job_id for c in controls])
            for control in controls:
                self._give_up(control.job_id, exc)
        finally:
            with self._controls_lock:
                for control in controls:
                    self._controls.pop(control.job_id, None)
            if not self._stopping.is_set():
                self._set_state(WorkerState.IDLE)
        return True

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

    def _select(self, key: BatchKey | None = None, hint: str | None = None) -> list[Candidate]:
        candidates = self._candidates()
        head = next((c for c in candidates if c.job_id == hint), None)
        if head is not None:  # the job this message is about leads; its key decides the batch
            key = head.key
            candidates.remove(head)
            candidates.insert(0, head)
        if key is not None:
            candidates = [c for c in candidates if c.key == key]
        return select_batch(
            candidates, is_loaded=self._is_loaded, max_images=self.max_images, max_wait_s=self.affinity_max_wait_s
        )

    def _claim_batch(self, hint: str | None) -> list[RunControl]:
        chosen = self._select(hint=hint)
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
        first = JobStatus.IN_PROGRESS if loaded else JobStatus.WARMING_UP
        claimed = self.jobs.claim(job_ids=job_ids, owner=self.name, lease_s=self.lease_s, status_for=lambda _: first)
        controls = [RunControl(job=job, cancel=threading.Event()) for job in claimed]
        if self.metrics is not None and claimed:
            self.metrics.claimed(claimed)
        with self._controls_lock:
            self._controls.update({c.job_id: c for c in controls})
        for job in claimed:
            assert self._runner is not None
            self._runner.announce(job)
        for job_id in self._cancels_asked([c.job_id for c in controls]):  # asked while it was claimed
            self._on_cancel(CancelRequest(job_id))
        if controls:
            logger.info(
                "batch claimed jobs=%d images=%d worker=%s job_ids=%s",
                len(controls),
                sum(_images(c.job) for c in controls),
                self.name,
                ",".join(c.job_id for c in controls),
            )
        return controls

    def _cancels_asked(self, job_ids: list[str]) -> list[str]:
        """Cancel requests for these jobs, from the bus or stored with the jobs (a message this worker missed)."""
        if not job_ids:
            return []
        asked = set(self.bus.cancel_requested(job_ids)) | set(self.jobs.cancel_requested(job_ids))
        return [j for j in job_ids if j in asked]

    def _give_up(self, job_id: str, exc: Exception) -> None:
        """Fails a job the runner could not take through its lifecycle, so the queue does not pick it again;
        when even that fails (the database is down), waits before the next try instead of spinning."""
        try:
            if self._runner is not None:
                self._runner.fail(job_id, exc)
        except Exception:
            logger.exception("could not mark the job failed job_id=%s", job_id)
            self._stopping.wait(IDLE_POLL_S)


def _thread(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _images(job: JobRecord) -> int:
    return int(job.input.get("numSamples", 1))
