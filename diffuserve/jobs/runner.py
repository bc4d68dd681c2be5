"""Runs a claimed batch of jobs through the engine: per job its status, progress, previews, cancel and assets."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from diffuserve.catalog.types import Callbacks, GenerationRequest, GenerationResult, Mode, Progress
from diffuserve.crashpoints import pause_point
from diffuserve.errors import DiffuserveError, GenerationCanceled, NotFound
from diffuserve.jobs.events import JobEvent
from diffuserve.jobs.inputs import InputImages, build_request
from diffuserve.jobs.outputs import preview_key, store_outputs
from diffuserve.storage.asset_store import AssetStore, png_bytes
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus

if TYPE_CHECKING:  # the engine (torch) is imported by the worker's thread, not by whoever imports this module
    from collections.abc import Callable

    from diffuserve.engine.engine import Engine

logger = logging.getLogger(__name__)
T = TypeVar("T")

PROGRESS_WRITE_INTERVAL_S = 0.1
RECORD_ATTEMPTS = 8  # about 15 s of retries for a status change while the database is away
RUNNING = (JobStatus.WARMING_UP, JobStatus.IN_PROGRESS)
UNFINISHED = tuple(status for status in JobStatus if not status.is_terminal)


@dataclass
class RunControl:
    """What the worker holds for a claimed job: its cancel flag, who raised it (a user, a shutdown, both), and
    whether the job was already stopped."""

    job: JobRecord
    cancel: threading.Event
    canceled: bool = False
    shutdown: bool = False
    stopped: bool = False

    @property
    def job_id(self) -> str:
        return self.job.id


class JobRunner:
    """Executes claimed jobs; every change is written to the database and announced through `publish`."""

    def __init__(
        self,
        *,
        engine: Engine,
        jobs: JobRepository,
        assets: AssetStore,
        blobs: BlobStore,
        publish: Callable[[JobEvent], None],
        owner: str,
    ) -> None:
        self.owner = owner  # the worker whose lease the jobs must still carry for its writes to count
        self.engine = engine
        self.jobs = jobs
        self.assets = assets
        self.blobs = blobs
        self.publish = publish

    def _move(self, job_id: str, status: JobStatus, **kwargs: Any) -> JobRecord | None:
        """A status change that must be recorded: retried while the database is away (a restart, a failover)."""
        record = _retrying(
            job_id, status.value, lambda: self.jobs.transition(job_id, status, owner=self.owner, **kwargs)
        )
        if record is not None:
            self.announce(record)
        return record

    def release(self, job_ids: list[str]) -> list[JobRecord]:
        """Jobs this worker runs go back to the queue (or end canceled, when asked) at once: a shutdown."""
        released = _retrying(",".join(job_ids), "released", lambda: self.jobs.release(job_ids, owner=self.owner))
        for record in released:
            logger.info(
                "job %s at shutdown job_id=%s",
                "re-queued" if record.status is JobStatus.QUEUED else record.status.value,
                record.id,
            )
            self.announce(record)
        return released

    def _note(self, job_id: str, status: JobStatus, **kwargs: Any) -> None:
        """Progress and previews: worth a try, never worth stopping the run for (the next one will do)."""
        try:
            record = self.jobs.transition(job_id, status, owner=self.owner, **kwargs)
        except Exception as exc:
            logger.warning("progress not recorded job_id=%s error=%s", job_id, exc)
            return
        if record is not None:
            self.announce(record)

    def announce(self, job: JobRecord) -> None:
        """Tells the listeners a job's new state (status, progress) once it is recorded."""
        self.publish(JobEvent(job.id, job.status, job.progress))

    def run(self, controls: list[RunControl]) -> None:
        """Runs claimed jobs to an end state; whatever goes wrong with one of them, it alone ends as a failure."""
        started = time.monotonic()
        batch: list[tuple[RunControl, GenerationRequest, Callbacks]] = []
        for control in controls:
            job = control.job
            logger.info("job started job_id=%s mode=%s model_id=%s", job.id, job.mode, job.input.get("modelId"))
            try:
                self.assets.delete_outputs_of(job.id)  # a re-run after a crash starts clean
                request = self._request(job)
            except Exception as exc:
                self._failed(job, exc)
                continue
            batch.append((control, request, self._callbacks(control)))
        if not batch:
            return
        outcomes = self.engine.generate_batch([(request, callbacks) for _, request, callbacks in batch])
        for (control, _, _), outcome in zip(batch, outcomes, strict=True):
            job = control.job
            if isinstance(outcome, GenerationCanceled):
                if not control.stopped:
                    self._stopped(control)
            elif isinstance(outcome, BaseException):
                self._failed(job, outcome)
            else:
                try:
                    self._finalize(job, outcome)
                except Exception as exc:
                    self._failed(job, exc)
                    continue
                logger.info(
                    "job done job_id=%s images=%d batch_jobs=%d seconds=%.2f",
                    job.id,
                    len(outcome.images),
                    len(batch),
                    time.monotonic() - started,
                )

    def fail(self, job_id: str, exc: BaseException) -> None:
        """Ends a job that could not be run at all (e.g. unreadable input), so the queue moves past it."""
        message = _message(exc)
        failed = self.jobs.transition(
            job_id, JobStatus.FAILURE, output={"error": message}, error=message, expect=UNFINISHED
        )
        if failed is not None:
            self.announce(failed)
            logger.error("job failed before it ran job_id=%s error=%s", job_id, message)

    def _request(self, job: JobRecord) -> GenerationRequest:
        inp = job.input
        images = InputImages(
            image=self.assets.load_image(inp["imageId"], field_name="image") if inp.get("imageId") else None,
            mask=self.assets.load_image(inp["maskId"], field_name="mask") if inp.get("maskId") else None,
            ip_adapter_images=tuple(
                self.assets.load_image(a, field_name="ipAdapterImages") for a in inp.get("ipAdapterImageIds") or ()
            ),
            ip_adapter_sets=tuple(
                tuple(self.assets.load_image(a, field_name="ipAdapters") for a in entry.get("imageIds") or ())
                for entry in inp.get("ipAdapters") or ()
            ),
        )
        return build_request(Mode(job.mode), inp, images)

    def _callbacks(self, control: RunControl) -> Callbacks:
        job_id = control.job_id
        last_write = 0.0

        def on_loading() -> None:
            self._note(job_id, JobStatus.WARMING_UP, expect=RUNNING)

        def on_progress(progress: Progress) -> None:
            nonlocal last_write
            pause_point("step")
            now = time.monotonic()
            final = progress.done >= progress.total
            if not final and now - last_write < PROGRESS_WRITE_INTERVAL_S:
                return
            last_write = now
            # Leave the last percent to finalizing, so progress only reaches 1 with success.
            self._note(job_id, JobStatus.IN_PROGRESS, progress=min(progress.fraction, 0.99), expect=RUNNING)

        def on_preview(images: list[Any]) -> None:
            try:
                for i, image in enumerate(images):
                    self.blobs.put(preview_key(job_id, i), png_bytes(image))
            except Exception as exc:
                logger.warning("previews not stored job_id=%s error=%s", job_id, exc)
                return
            self._note(job_id, JobStatus.IN_PROGRESS, preview_count=len(images), expect=RUNNING)

        def should_cancel() -> bool:
            """The first time the flag is seen, the job ends (canceled, or re-queued at shutdown) at once,
            while the other jobs of its batch go on."""
            if not control.cancel.is_set():
                return False
            if not control.stopped:
                self._stopped(control)
            return True

        return Callbacks(
            on_loading=on_loading, on_progress=on_progress, on_preview=on_preview, should_cancel=should_cancel
        )

    def _stopped(self, control: RunControl) -> None:
        """The cancel flag stopped the job: a user's cancel wins over a shutdown, which re-queues the job."""
        control.stopped = True
        job = control.job
        self._remove_leftovers(job, outputs=False)
        if control.shutdown and not control.canceled:
            self.release([job.id])  # canceled instead when a user asked for that meanwhile
        elif self._move(job.id, JobStatus.CANCELED, preview_count=0, expect=RUNNING):
            logger.info("job canceled job_id=%s", job.id)

    def _failed(self, job: JobRecord, exc: BaseException) -> None:
        message = _message(exc)
        logger.error("job failed job_id=%s error=%s", job.id, message, exc_info=exc)
        self._remove_leftovers(job, outputs=True)
        self._move(
            job.id,
            JobStatus.FAILURE,
            output={"error": message},
            error=message,
            preview_count=0,
            expect=(*RUNNING, JobStatus.FINALIZING),
        )

    def _finalize(self, job: JobRecord, result: GenerationResult) -> None:
        if self._move(job.id, JobStatus.FINALIZING, expect=RUNNING) is None:
            return  # canceled after its last step
        outputs = store_outputs(self.assets, job, Mode(job.mode), result)
        asset_ids = [a.id for a in outputs]
        pause_point("outputs.staged")
        self._clear_previews(job)
        done = self._move(
            job.id,
            JobStatus.SUCCESS,
            progress=1.0,
            asset_ids=asset_ids,
            preview_count=0,
            output={},
            live_assets=asset_ids,
        )
        if done is None:  # the job went elsewhere (lease lost) or ended meanwhile: what this run staged goes
            self.assets.discard(outputs)

    def _remove_leftovers(self, job: JobRecord, *, outputs: bool) -> None:
        """Best effort: a job that did not succeed keeps no previews (and, with `outputs`, no assets)."""
        try:
            self._clear_previews(job)
            if outputs:
                self.assets.delete_outputs_of(job.id)
        except Exception:
            logger.exception("could not remove what the job stored job_id=%s", job.id)

    def _clear_previews(self, job: JobRecord) -> None:
        """Previews are stored as 0..n-1 (n up to the batch size), so removal stops at the first gap."""
        for i in itertools.count():
            key = preview_key(job.id, i)
            if not self.blobs.exists(key):
                break
            self.blobs.delete(key)


def _retrying(job_id: str, what: str, write: Callable[[], T]) -> T:
    """A write that must be recorded: retried while the database is away (a restart, a failover)."""
    for attempt in itertools.count(1):
        try:
            return write()
        except NotFound:
            raise
        except Exception as exc:
            if attempt >= RECORD_ATTEMPTS:
                raise
            logger.warning("could not record job_id=%s status=%s, retrying error=%s", job_id, what, exc)
            time.sleep(min(5.0, 0.1 * 2**attempt))
    raise AssertionError("unreachable")


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, DiffuserveError) else f"{type(exc).__name__}: {exc}"
