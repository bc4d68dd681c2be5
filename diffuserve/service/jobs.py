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
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.query_schemas import JobQuery
from diffuserve.service.request_schemas import JobAction
from diffuserve.service.signing import UrlSigner, preview_path
from diffuserve.service.wire import job_wire
from diffuserve.service.wire_fields import field_warnings
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus

logger = logging.getLogger(__name__)

CANCEL_WAIT_S = 10.0
WAIT_POLL_S = 1.0


class JobService:
    def __init__(
        self, *, jobs: JobRepository, queue: JobClient, signer: UrlSigner, blobs: BlobStore, strict_fields: bool = False
    ) -> None:
        self.strict_fields = strict_fields  # unknown body fields are a 400 instead of a warning
        self.jobs = jobs
        self.blobs = blobs
        self.queue = queue
        self.signer = signer

    def _wire(self, job: JobRecord) -> dict[str, Any]:
        return {"job": job_wire(job, self.signer)}

    def get(self, job_id: str, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        return self._wire(self.jobs.get(job_id, owner_id=caller.project_id))

    def list(self, query: JobQuery | None = None, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """GET /jobs: `types` wins over `type`; hideResults=false leaves out jobs that asked to hide their results."""
        query = query or JobQuery()
        statuses = None
        if query.status:
            statuses = [s.strip() for s in query.status.split(",") if s.strip()]
            allowed = {s.value for s in JobStatus}
            bad = [s for s in statuses if s not in allowed]
            if bad:
                raise InvalidRequest(f"status must be one of {sorted(allowed)}; got {bad}", field="status")
        page = self.jobs.page(
            statuses=statuses,
            job_types=query.types or ([query.type] if query.type else None),
            hide_results=None if query.hideResults is None or query.hideResults else False,
            author_id=query.authorId,
            owner_id=caller.project_id,
            page_size=query.pageSize,
            pagination_token=query.paginationToken,
        )
        body: dict[str, Any] = {"jobs": [job_wire(j, self.signer) for j in page.items]}
        if page.next_token:
            body["nextPaginationToken"] = page.next_token
        return body

    def action(self, job_id: str, body: JobAction, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """POST /jobs/{jobId}/action: `{"action": "cancel"}`, the one action there is."""
        warnings = field_warnings(body, "a job action", strict=self.strict_fields)
        return {**self.cancel(job_id, caller=caller), **warnings}

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
