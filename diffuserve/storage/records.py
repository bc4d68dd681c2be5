"""What the repositories hand out: frozen dataclasses, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """A job's lifecycle; the values are the wire strings of spec §4.1."""

    QUEUED = "queued"
    WARMING_UP = "warming-up"
    IN_PROGRESS = "in-progress"
    FINALIZING = "finalizing"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.FAILURE, JobStatus.CANCELED)

    @property
    def is_running(self) -> bool:
        return self in (JobStatus.WARMING_UP, JobStatus.IN_PROGRESS, JobStatus.FINALIZING)


# The project that owns what was stored before projects existed, and the keys of a fresh install.
DEFAULT_PROJECT_ID = "proj_diffuserve"


@dataclass(frozen=True)
class StatusChange:
    status: JobStatus
    date: datetime


@dataclass(frozen=True)
class JobRecord:
    """A job as stored. `input` is the normalized request (wire names, inputs as asset ids)."""

    id: str
    job_type: str
    mode: str
    status: JobStatus
    progress: float
    input: dict[str, Any]
    output: dict[str, Any]
    asset_ids: tuple[str, ...]
    status_history: tuple[StatusChange, ...]
    created_at: datetime
    updated_at: datetime
    author_id: str
    owner_id: str
    hide_results: bool = False
    preview_count: int = 0
    error: str | None = None
    webhook_url: str | None = None
    webhook_delivered: bool = False
    api: str = "scenario"
    # The worker holding the job and until when; None unless the job is running under a claim.
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    # A user asked to stop it while it ran: it ends canceled rather than run again (kept across restarts).
    cancel_requested: bool = False


@dataclass(frozen=True)
class AssetRecord:
    """An image asset as stored: bytes live in the blob store under `blob_key`."""

    id: str
    name: str
    mime_type: str
    blob_key: str
    size: int
    width: int
    height: int
    source: str
    hidden: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    author_id: str
    owner_id: str
    parent_id: str | None = None
    root_parent_id: str | None = None
    inference_id: str | None = None
    model_id: str | None = None
    asset_type: str = "uploaded"
    output_index: int | None = None
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key; the secret is only ever stored as a salted scrypt hash."""

    key_id: str
    salt: bytes
    secret_hash: bytes
    created_at: datetime
    revoked: bool = False
    project_id: str = DEFAULT_PROJECT_ID
    role: str = "admin"
    name: str | None = None


@dataclass(frozen=True)
class ProjectRecord:
    """A team's space: keys, jobs, assets and uploads belong to one project (Scenario's ownerId)."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of a listing and the token of the next one (None on the last page)."""

    items: tuple[Any, ...]
    next_token: str | None
