"""GET /jobs, GET /jobs/{jobId}, POST /jobs/{jobId}/action (cancel), and a bounded wait for front ends."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from diffuserve.errors import Conflict, InvalidRequest, NotFound
from diffuserve.jobs.client import JobClient
from diffuserve.jobs.events import JobEvent
from diffuserve.jobs.outputs import preview_key
from diffuserve.service import coerce
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.signing import UrlSigner, preview_path
from diffuserve.service.wire import job_wire
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus

logger = logging.getLogger(__name__)

CANCEL_WAIT_S = 10.0
WAIT_POLL_S = 1.0


class JobService:
    def __init__(self, *, jobs: JobRepository, queue: JobClient, signer: UrlSigner, blobs: BlobStore) -> None:
        self.jobs = jobs
        self.blobs = blobs
        self.queue = queue
        self.signer = signer

    def _wire(self, job: JobRecord) -> dict[str, Any]:
        return {"job": job_wire(job, self.signer)}

    def get(self, job_id: str, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        return self._wire(self.jobs.get(job_id, owner_id=caller.project_id))

    def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        types: builtins.list[str] | str | None = None,
        page_size: int | str | None = 10,
        pagination_token: str | None = None,
        hide_results: bool | str | None = None,
        author_id: str | None = None,
        caller: Caller = LOCAL_CALLER,
    ) -> dict[str, Any]:
        """`types` wins over `type`; hideResults=false leaves out jobs that asked to hide their results."""
        statuses = None
        if status:
            statuses = [s.strip() for s in status.split(",") if s.strip()]
            allowed = {s.value for s in JobStatus}
            bad = [s for s in statuses if s not in allowed]
            if bad:
                raise InvalidRequest(f"status must be one of {sorted(allowed)}; got {bad}", field="status")
        if isinstance(types, str):
            types = [t.strip() for t in types.split(",") if t.strip()]
        job_types = types or ([type] if type else None)
        hide = None
        if hide_results is not None and not coerce.query_flag(hide_results):
            hide = False
        page = self.jobs.page(
            statuses=statuses,
            job_types=job_types,
            hide_results=hide,
            author_id=author_id,
            owner_id=caller.project_id,
            page_size=coerce.page_size(page_size, default=10, maximum=200),
            pagination_token=pagination_token,
        )
        body: dict[str, Any] = {"jobs": [job_wire(j, self.signer) for j in page.items]}
        if page.next_token:
            body["nextPaginationToken"] = page.next_token
        return body

    def cancel(self, job_id: str, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """A queued job is canceled at once (by the queue, which announces it); a running one stops within a
        denoising step."""
        job = self.jobs.get(job_id, owner_id=caller.project_id)
        caller.may_write()
        if job.status.is_terminal:
            raise Conflict(
                f"job {job_id} is already {job.status.value}; only unfinished jobs can be canceled",
                reason="job_finished",
            )
        done = threading.Event()

        def listener(event: JobEvent) -> None:
            if event.job_id == job_id and event.status.is_terminal:
                done.set()

        unsubscribe = self.queue.subscribe(listener)
        try:
            self.queue.cancel(job_id)
            if not self.jobs.get(job_id).status.is_terminal:
                done.wait(CANCEL_WAIT_S)
        finally:
            unsubscribe()
        return self.get(job_id, caller=caller)

    async def wait(
        self,
        job_id: str,
        *,
        timeout_s: float,
        on_progress: Callable[[float, str], Awaitable[None]] | None = None,
        caller: Caller = LOCAL_CALLER,
    ) -> dict[str, Any]:
        """{"job": Job} once the job ends, or as it stands when timeout_s runs out."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def listener(event: JobEvent) -> None:
            if event.job_id == job_id:
                loop.call_soon_threadsafe(changed.set)

        unsubscribe = self.queue.subscribe(listener)
        deadline = loop.time() + max(0.0, timeout_s)
        last: tuple[float, str] | None = None
        try:
            while True:
                job = await asyncio.to_thread(self.jobs.get, job_id, owner_id=caller.project_id)
                state = (job.progress, job.status.value)
                if on_progress is not None and state != last:
                    await on_progress(*state)
                last = state
                remaining = deadline - loop.time()
                if job.status.is_terminal or remaining <= 0:
                    return self._wire(job)
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, WAIT_POLL_S))
        finally:
            unsubscribe()

    def previews(self, job_id: str, *, caller: Caller = LOCAL_CALLER) -> builtins.list[str]:
        job = self.jobs.get(job_id, owner_id=caller.project_id)
        if job.status.is_terminal:
            return []
        return [self.signer.sign(preview_path(job.id, i)) for i in range(job.preview_count)]

    def preview_bytes(self, job_id: str, index: int) -> bytes:
        """PNG bytes of preview `index` of a running job."""
        job = self.jobs.get(job_id)
        if job.status.is_terminal or not 0 <= index < job.preview_count:
            raise NotFound(f"job {job_id} has no preview {index}", reason="preview_not_found")
        return self.blobs.get(preview_key(job_id, index))
