"""Runs one job through the engine: status transitions, progress, previews, cancellation, output assets."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import PngImagePlugin

from diffuserve.catalog.types import Callbacks, GenerationResult, Mode, Progress
from diffuserve.engine.engine import Engine
from diffuserve.errors import DiffuserveError, GenerationCanceled
from diffuserve.jobs.inputs import InputImages, build_request
from diffuserve.storage.asset_store import AssetStore, NewAsset, png_bytes
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus

logger = logging.getLogger(__name__)

# Asset `source` per mode (spec §4.4).
SOURCE_BY_MODE = {
    Mode.TXT2IMG: "inference-txt",
    Mode.TXT2IMG_IP_ADAPTER: "inference-txt-ip-adapter",
    Mode.IMG2IMG: "inference-img",
    Mode.IMG2IMG_IP_ADAPTER: "inference-img-ip-adapter",
    Mode.INPAINT: "inference-in-paint",
    Mode.INPAINT_IP_ADAPTER: "inference-in-paint-ip-adapter",
}
PROGRESS_WRITE_INTERVAL_S = 0.1
RUNNING = (JobStatus.WARMING_UP, JobStatus.IN_PROGRESS)
UNFINISHED = tuple(status for status in JobStatus if not status.is_terminal)


def preview_key(job_id: str, index: int) -> str:
    return f"previews/{job_id}/{index}.png"


@dataclass
class RunControl:
    """What the queue holds for the running job: its cancel flag, and who raised it (a user, a shutdown, both)."""

    job_id: str
    cancel: threading.Event
    canceled: bool = False
    shutdown: bool = False


class JobRunner:
    """Executes one stored job; every change is written to the database and announced through `emit`."""

    def __init__(
        self,
        *,
        engine: Engine,
        jobs: JobRepository,
        assets: AssetStore,
        blobs: BlobStore,
        emit: Callable[[JobRecord], None],
    ) -> None:
        self.engine = engine
        self.jobs = jobs
        self.assets = assets
        self.blobs = blobs
        self.emit = emit

    def _move(self, job_id: str, status: JobStatus, **kwargs: Any) -> JobRecord | None:
        record = self.jobs.transition(job_id, status, **kwargs)
        if record is not None:
            self.emit(record)
        return record

    def run(self, job: JobRecord, control: RunControl) -> None:
        """Runs the job to an end state; whatever goes wrong after it left the queue, it ends as a failure."""
        mode = Mode(job.mode)
        model_id = str(job.input["modelId"])
        try:
            loaded = self.engine.is_loaded(model_id, mode)
        except DiffuserveError:
            loaded = True  # validation below reports the real problem
        first = JobStatus.IN_PROGRESS if loaded else JobStatus.WARMING_UP
        if self._move(job.id, first, expect=(JobStatus.QUEUED,)) is None:
            return  # canceled while it waited
        logger.info("job started job_id=%s mode=%s model_id=%s", job.id, job.mode, model_id)
        started = time.monotonic()
        try:
            self.assets.delete_outputs_of(job.id)  # a re-run after a crash starts clean
            result = self._generate(job, mode, control)
            self._finalize(job, mode, result)
        except GenerationCanceled:
            self._stopped(job, control)
            return
        except Exception as exc:
            self._failed(job, exc)
            return
        logger.info(
            "job done job_id=%s images=%d seconds=%.2f",
            job.id,
            len(result.images),
            time.monotonic() - started,
        )

    def fail(self, job_id: str, exc: BaseException) -> None:
        """Ends a job that could not be run at all (e.g. unreadable input), so the queue moves past it."""
        message = _message(exc)
        if self._move(job_id, JobStatus.FAILURE, output={"error": message}, error=message, expect=UNFINISHED):
            logger.error("job failed before it ran job_id=%s error=%s", job_id, message)

    def _stopped(self, job: JobRecord, control: RunControl) -> None:
        """The cancel flag stopped the run: a user's cancel wins over a shutdown, which re-queues the job."""
        self._remove_leftovers(job, outputs=False)
        if control.shutdown and not control.canceled:
            if self._move(job.id, JobStatus.QUEUED, progress=0.0, preview_count=0, expect=RUNNING):
                logger.info("job re-queued at shutdown job_id=%s", job.id)
        elif self._move(job.id, JobStatus.CANCELED, preview_count=0, expect=RUNNING):
            logger.info("job canceled job_id=%s", job.id)

    def _failed(self, job: JobRecord, exc: Exception) -> None:
        message = _message(exc)
        logger.exception("job failed job_id=%s error=%s", job.id, message)
        self._remove_leftovers(job, outputs=True)
        self._move(
            job.id,
            JobStatus.FAILURE,
            output={"error": message},
            error=message,
            preview_count=0,
            expect=(*RUNNING, JobStatus.FINALIZING),
        )

    def _generate(self, job: JobRecord, mode: Mode, control: RunControl) -> GenerationResult:
        inp = job.input
        images = InputImages(
            image=self.assets.load_image(inp["imageId"], field_name="image") if inp.get("imageId") else None,
            mask=self.assets.load_image(inp["maskId"], field_name="mask") if inp.get("maskId") else None,
            ip_adapter_images=tuple(
                self.assets.load_image(a, field_name="ipAdapterImages") for a in inp.get("ipAdapterImageIds") or ()
            ),
        )
        request = build_request(mode, inp, images)
        last_write = 0.0
        previews = 0

        def on_loading() -> None:
            self._move(job.id, JobStatus.WARMING_UP, expect=RUNNING)

        def on_progress(progress: Progress) -> None:
            nonlocal last_write
            now = time.monotonic()
            final = progress.done >= progress.total
            if not final and now - last_write < PROGRESS_WRITE_INTERVAL_S:
                return
            last_write = now
            # Leave the last percent to finalizing, so progress only reaches 1 with success.
            self._move(job.id, JobStatus.IN_PROGRESS, progress=min(progress.fraction, 0.99), expect=RUNNING)

        def on_preview(images: list[Any]) -> None:
            nonlocal previews
            for i, image in enumerate(images):
                self.blobs.put(preview_key(job.id, i), png_bytes(image))
            previews = len(images)
            self._move(job.id, JobStatus.IN_PROGRESS, preview_count=previews, expect=RUNNING)

        callbacks = Callbacks(
            on_loading=on_loading,
            on_progress=on_progress,
            on_preview=on_preview,
            should_cancel=control.cancel.is_set,
        )
        return self.engine.generate(request, callbacks)

    def _finalize(self, job: JobRecord, mode: Mode, result: GenerationResult) -> None:
        self._move(job.id, JobStatus.FINALIZING, expect=RUNNING)
        inp = job.input
        resolved = result.resolved
        params = resolved.parameters()
        params["modelId"] = inp["modelId"]
        asset_ids: list[str] = []
        for generated in result.images:
            info = PngImagePlugin.PngInfo()
            info.add_text("parameters", json.dumps({**params, "seed": str(generated.seed)}))
            metadata: dict[str, Any] = {
                "inferenceId": job.id,
                "parentJobId": job.id,
                "modelId": inp["modelId"],
                "modelType": resolved.model_type,
                "prompt": resolved.request.prompt,
                "seed": str(generated.seed),
                "guidance": resolved.guidance,
                "scheduler": resolved.scheduler,
                "outputIndex": generated.index,
                "name": f"{job.id}_{generated.index}.png",
            }
            # The spec's Asset schema bounds these keys for other tools (numInferenceSteps 5..50, width
            # >= 1024); values outside are left out here and stay in the job input and the asset properties.
            if 5 <= resolved.num_inference_steps <= 50:
                metadata["numInferenceSteps"] = resolved.num_inference_steps
            if resolved.request.negative_prompt:
                metadata["negativePrompt"] = resolved.request.negative_prompt
            if mode.uses_image:
                metadata["strength"] = resolved.strength
            if inp.get("maskId"):
                metadata["mask"] = inp["maskId"]
            if inp.get("ipAdapterImageIds"):
                metadata["referenceImages"] = list(inp["ipAdapterImageIds"])
            if inp.get("concepts"):
                metadata["concepts"] = list(inp["concepts"])
            record = self.assets.create(
                png_bytes(generated.image, info),
                NewAsset(
                    name=metadata["name"],
                    source=SOURCE_BY_MODE[mode],
                    asset_type=f"inference-{mode.value}",
                    author_id=job.author_id,
                    owner_id=job.owner_id,
                    hidden=job.hide_results,
                    parent_id=inp.get("imageId"),
                    inference_id=job.id,
                    model_id=str(inp["modelId"]),
                    output_index=generated.index,
                    metadata=metadata,
                ),
                image=generated.image,
            )
            asset_ids.append(record.id)
        self._clear_previews(job)
        self._move(job.id, JobStatus.SUCCESS, progress=1.0, asset_ids=asset_ids, preview_count=0, output={})

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


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, DiffuserveError) else f"{type(exc).__name__}: {exc}"
