"""What one request and one project may cost: the per-request work budget, prompt lengths, a project's active jobs
and hourly work (HTTP 429 with Retry-After), and the queue's bound (503). Checked before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from diffuserve.catalog.types import ResolvedRequest
from diffuserve.catalog.work import stored_work, work_of
from diffuserve.errors import InvalidRequest, RateLimited, Unavailable
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobStatus
from diffuserve.storage.timeutil import utcnow

HOUR = timedelta(hours=1)
ACTIVE = (JobStatus.QUEUED, JobStatus.WARMING_UP, JobStatus.IN_PROGRESS, JobStatus.FINALIZING)
QUEUE_RETRY_S = 30.0


@dataclass(frozen=True)
class Limits:
    """Settings' limits; 0 turns one off."""

    max_work_per_request: float = 0.0
    max_prompt_chars: int = 0
    project_max_active_jobs: int = 0
    project_max_work_per_hour: float = 0.0
    max_queued_jobs: int = 0


def check_prompts(limits: Limits, **texts: str | None) -> None:
    """Prompt and negative prompt length caps, before anything else is read."""
    cap = limits.max_prompt_chars
    for name, text in texts.items():
        if cap and text is not None and len(text) > cap:
            raise InvalidRequest(
                f"{name} holds {len(text)} characters; at most {cap} are accepted (CLIP reads 77 tokens, about "
                "300 characters, and T5 512 tokens, about 2,000: the rest would never reach the model)",
                field=name,
                reason="prompt_too_long",
            )


def check_work(limits: Limits, resolved: ResolvedRequest) -> float:
    """The request's work in megapixel-steps; a 400 stating the budget when it is over."""
    work = work_of(resolved)
    cap = limits.max_work_per_request
    if cap and work > cap:
        raise InvalidRequest(
            f"this request is {work:,.0f} megapixel-steps of work (numSamples x width x height x steps); one "
            f"request may be at most {cap:,.0f}. Ask for fewer images, fewer steps or a smaller size, or split it",
            field="numSamples",
            reason="request_too_large",
        )
    return work


def check_capacity(limits: Limits, jobs: JobRepository, *, project_id: str, work: float) -> None:
    """The queue's bound (503), then the project's active jobs and hourly work (429)."""
    if limits.max_queued_jobs and jobs.count(statuses=[JobStatus.QUEUED.value]) >= limits.max_queued_jobs:
        raise Unavailable(
            f"the queue holds {limits.max_queued_jobs} jobs, as many as this server accepts; retry later",
            reason="queue_full",
            retry_after_s=QUEUE_RETRY_S,
        )
    if limits.project_max_active_jobs:
        active = jobs.count(statuses=[s.value for s in ACTIVE], owner_id=project_id)
        if active >= limits.project_max_active_jobs:
            raise RateLimited(
                f"this project has {active} unfinished jobs, its limit; wait for some to finish",
                retry_after_s=QUEUE_RETRY_S,
                reason="too_many_active_jobs",
            )
    cap = limits.project_max_work_per_hour
    if cap:
        now = utcnow()
        recent = jobs.inputs_since(owner_id=project_id, since=now - HOUR)
        spent = sum(stored_work(data) for _, data in recent)
        if spent + work > cap:
            # The budget frees up as the oldest jobs of the hour leave the window.
            freed, wait_s = 0.0, HOUR.total_seconds()
            for created, data in recent:
                freed += stored_work(data)
                if spent - freed + work <= cap:
                    wait_s = max(1.0, (created + HOUR - now).total_seconds())
                    break
            raise RateLimited(
                f"this project submitted {spent:,.0f} megapixel-steps of work in the last hour; its quota is "
                f"{cap:,.0f} and this request needs {work:,.0f}",
                retry_after_s=wait_s,
                reason="hourly_quota_exceeded",
            )
