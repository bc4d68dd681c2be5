"""Jobs in the database: insert, read, list, the status transitions the worker and the API make, and claims
under leases (the table is the queue: FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from diffuserve.errors import NotFound
from diffuserve.storage.asset_repository import make_live
from diffuserve.storage.database import Database
from diffuserve.storage.pagination import decode_token, encode_token
from diffuserve.storage.records import JobRecord, JobStatus, Page, StatusChange
from diffuserve.storage.tables import JobRow
from diffuserve.storage.timeutil import as_utc, iso, parse_iso, utcnow

# A job whose runs were interrupted this many times (crash, kill) fails instead of running again.
MAX_RUNS = 3
_RUNNING = [status.value for status in JobStatus if status.is_running]


class CancelOutcome(StrEnum):
    """What a cancel request did: ended a queued job, asked the worker running one to stop, or found it ended."""

    CANCELED = "canceled"
    REQUESTED = "requested"
    FINISHED = "finished"


_seq_lock = threading.Lock()
_last_seq = 0


def _next_seq() -> int:
    """Submission order: nanoseconds since the epoch, forced strictly increasing within the process."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return _last_seq


def _count_runs(history: list[dict[str, str]]) -> int:
    """How many times the job left the queue to run."""
    runs, queued = 0, False
    for entry in history:
        if entry["status"] == JobStatus.QUEUED.value:
            queued = True
        elif queued and JobStatus(entry["status"]).is_running:
            runs, queued = runs + 1, False
    return runs


def _record(row: JobRow) -> JobRecord:
    return JobRecord(
        id=row.id,
        job_type=row.job_type,
        mode=row.mode,
        status=JobStatus(row.status),
        progress=row.progress,
        input=dict(row.input),
        output=dict(row.output),
        asset_ids=tuple(row.asset_ids),
        status_history=tuple(StatusChange(JobStatus(h["status"]), parse_iso(h["date"])) for h in row.status_history),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        author_id=row.author_id,
        owner_id=row.owner_id,
        hide_results=row.hide_results,
        preview_count=row.preview_count,
        error=row.error,
        webhook_url=row.webhook_url,
        webhook_delivered=row.webhook_delivered,
        api=row.api,
        lease_owner=row.lease_owner,
        lease_expires_at=as_utc(row.lease_expires_at) if row.lease_expires_at is not None else None,
        cancel_requested=bool(row.cancel_requested),
    )


def _end_run(row: JobRow, status: JobStatus, now: datetime) -> None:
    """A running job leaves its worker for `status`: no progress, previews or lease left."""
    row.status_history = [*row.status_history, {"status": status.value, "date": iso(now)}]
    row.status = status.value
    row.progress = 0.0
    row.preview_count = 0
    row.updated_at = now
    row.lease_owner = None
    row.lease_expires_at = None


def _requeue(rows: Sequence[JobRow], now: datetime) -> list[str]:
    """Running jobs whose run was cut short go back to the queue, or fail after MAX_RUNS interrupted runs, or end
    canceled when a user asked for that while they ran; returns the ids requeued."""
    requeued = []
    for row in rows:
        if row.cancel_requested:
            _end_run(row, JobStatus.CANCELED, now)
            continue
        runs = _count_runs(row.status_history)
        status = JobStatus.QUEUED if runs < MAX_RUNS else JobStatus.FAILURE
        _end_run(row, status, now)
        if status == JobStatus.FAILURE:
            row.error = f"the server stopped during all {runs} runs of this job; not run again"
            row.output = {"error": row.error}
        else:
            requeued.append(row.id)
    return requeued


class JobRepository:
    """Keyword-only functions over the jobs table; every one is its own transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(
        self,
        *,
        job_id: str,
        mode: str,
        input: dict[str, Any],
        author_id: str,
        owner_id: str,
        hide_results: bool,
        job_type: str = "inference",
        webhook_url: str | None = None,
        api: str = "scenario",
        live_assets: Sequence[str] = (),
    ) -> JobRecord:
        """Stores a queued job; the pending assets of its input (`live_assets`) become live with it."""
        with self.db.session() as s:
            # Take the write lock before numbering the job (SQLite: BEGIN IMMEDIATE), so that submission order
            # is commit order and a worker never sees a later job before an earlier one.
            s.connection()
            now = utcnow()
            row = JobRow(
                id=job_id,
                job_type=job_type,
                mode=mode,
                status=JobStatus.QUEUED.value,
                progress=0.0,
                input=input,
                output={},
                asset_ids=[],
                status_history=[{"status": JobStatus.QUEUED.value, "date": iso(now)}],
                created_at=now,
                updated_at=now,
                seq=_next_seq(),
                author_id=author_id,
                owner_id=owner_id,
                hide_results=hide_results,
                preview_count=0,
                error=None,
                webhook_url=webhook_url,
                webhook_delivered=False,
                api=api,
            )
            s.add(row)
            make_live(s, live_assets)
            s.flush()
            return _record(row)

    def get(self, job_id: str, *, owner_id: str | None = None) -> JobRecord:
        """The job; with `owner_id`, only that project's (another project's job does not exist for it)."""
        with self.db.read() as s:
            row = s.get(JobRow, job_id)
            if row is None or (owner_id is not None and row.owner_id != owner_id):
                raise NotFound(f"job {job_id!r} does not exist", reason="job_not_found")
            return _record(row)

    def page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        job_types: Iterable[str] | None = None,
        hide_results: bool | None = None,
        author_id: str | None = None,
        owner_id: str | None = None,
        page_size: int,
        pagination_token: str | None = None,
    ) -> Page:
        offset = decode_token(pagination_token)
        query = select(JobRow).order_by(JobRow.seq.desc())
        if statuses is not None:
            query = query.where(JobRow.status.in_(list(statuses)))
        if job_types is not None:
            query = query.where(JobRow.job_type.in_(list(job_types)))
        if hide_results is not None:
            query = query.where(JobRow.hide_results == hide_results)
        if author_id is not None:
            query = query.where(JobRow.author_id == author_id)
        if owner_id is not None:
            query = query.where(JobRow.owner_id == owner_id)
        with self.db.read() as s:
            rows = s.scalars(query.offset(offset).limit(page_size + 1)).all()
            items = tuple(_record(r) for r in rows[:page_size])
        return Page(items, encode_token(offset + page_size) if len(rows) > page_size else None)

    def count(self, *, statuses: Iterable[str], owner_id: str | None = None) -> int:
        query = select(func.count()).select_from(JobRow).where(JobRow.status.in_(list(statuses)))
        if owner_id is not None:
            query = query.where(JobRow.owner_id == owner_id)
        with self.db.read() as s:
            return int(s.scalar(query) or 0)

    def inputs_since(self, *, owner_id: str, since: datetime) -> list[tuple[datetime, dict[str, Any]]]:
        """(created_at, input) of the project's jobs created after `since`, oldest first (for its hourly quota)."""
        query = (
            select(JobRow.created_at, JobRow.input)
            .where(JobRow.owner_id == owner_id, JobRow.created_at > since)
            .order_by(JobRow.created_at)
        )
        with self.db.read() as s:
            return [(as_utc(created), dict(data)) for created, data in s.execute(query)]

    def queued(self, *, limit: int) -> list[JobRecord]:
        """The oldest queued jobs, in submission order."""
        with self.db.read() as s:
            rows = s.scalars(
                select(JobRow).where(JobRow.status == JobStatus.QUEUED.value).order_by(JobRow.seq).limit(limit)
            ).all()
            return [_record(row) for row in rows]

    def transition(
        self,
        job_id: str,
        status: JobStatus,
        *,
        expect: Iterable[JobStatus] | None = None,
        progress: float | None = None,
        error: str | None = None,
        output: dict[str, Any] | None = None,
        asset_ids: list[str] | None = None,
        preview_count: int | None = None,
        owner: str | None = None,
        live_assets: Sequence[str] = (),
    ) -> JobRecord | None:
        """Move a job to `status` (its history records the change); None when `expect` does not hold, or when
        `owner` no longer holds the job's lease (it expired and the job went to another worker: a fence).
        The pending assets `live_assets` (its outputs) become live in the same transaction."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id!r} does not exist", reason="job_not_found")
            if expect is not None and JobStatus(row.status) not in set(expect):
                return None
            if owner is not None and row.lease_owner != owner:
                return None
            now = utcnow()
            if row.status != status.value:
                row.status_history = [*row.status_history, {"status": status.value, "date": iso(now)}]
                row.status = status.value
            if progress is not None:
                row.progress = max(row.progress, progress) if status != JobStatus.QUEUED else progress
            if error is not None:
                row.error = error
            if output is not None:
                row.output = output
            if asset_ids is not None:
                row.asset_ids = asset_ids
            if preview_count is not None:
                row.preview_count = preview_count
            if not status.is_running:
                row.lease_owner = None
                row.lease_expires_at = None
            row.updated_at = now
            make_live(s, live_assets)
            s.flush()
            return _record(row)

    def request_cancel(self, job_id: str) -> tuple[JobRecord, CancelOutcome]:
        """In one transaction: a queued job ends canceled; a running one is marked, for its worker to stop it
        and for any later re-queue (restart, expired lease, shutdown) to end it canceled instead."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id, with_for_update=True)
            if row is None:
                raise NotFound(f"job {job_id!r} does not exist", reason="job_not_found")
            status = JobStatus(row.status)
            if status.is_terminal:
                return _record(row), CancelOutcome.FINISHED
            if status == JobStatus.QUEUED:
                now = utcnow()
                row.status_history = [*row.status_history, {"status": JobStatus.CANCELED.value, "date": iso(now)}]
                row.status = JobStatus.CANCELED.value
                row.updated_at = now
                s.flush()
                return _record(row), CancelOutcome.CANCELED
            row.cancel_requested = True
            s.flush()
            return _record(row), CancelOutcome.REQUESTED

    def cancel_requested(self, job_ids: Sequence[str]) -> list[str]:
        """Those of `job_ids` whose cancel was asked for while they ran."""
        if not job_ids:
            return []
        with self.db.read() as s:
            return list(s.scalars(select(JobRow.id).where(JobRow.id.in_(list(job_ids)), JobRow.cancel_requested)))

    def release(self, job_ids: Sequence[str], *, owner: str) -> list[JobRecord]:
        """Jobs `owner` still runs leave it at once (a shutdown): back to the queue, or canceled when a user asked
        for that. Returns the jobs changed."""
        if not job_ids:
            return []
        query = select(JobRow).where(
            JobRow.id.in_(list(job_ids)), JobRow.lease_owner == owner, JobRow.status.in_(_RUNNING)
        )
        with self.db.session() as s:
            rows = s.scalars(query.with_for_update()).all()
            now = utcnow()
            for row in rows:
                _end_run(row, JobStatus.CANCELED if row.cancel_requested else JobStatus.QUEUED, now)
            s.flush()
            return [_record(row) for row in rows]

    def requeue_interrupted(self) -> list[str]:
        """Jobs a crash left running go back to the queue and are re-run from their stored input, which holds
        the resolved seed, so the re-run makes the same images; after MAX_RUNS interrupted runs they fail."""
        with self.db.session() as s:
            rows = s.scalars(select(JobRow).where(JobRow.status.in_(_RUNNING))).all()
            return _requeue(rows, utcnow())

    def claim(
        self,
        *,
        job_ids: Sequence[str],
        owner: str,
        lease_s: float,
        status_for: Callable[[JobRecord], JobStatus] | None = None,
    ) -> list[JobRecord]:
        """Takes those of `job_ids` still queued for `owner` until the lease ends, in submission order; a job
        another claimer holds or already took, or one canceled, is left out, so no job is claimed twice.
        `status_for` picks each job's running status (default in-progress, e.g. warming-up for a cold model)."""
        if not job_ids:
            return []
        query = (
            select(JobRow)
            .where(JobRow.id.in_(list(job_ids)), JobRow.status == JobStatus.QUEUED.value)
            .order_by(JobRow.seq)
            .with_for_update(skip_locked=True)
        )
        with self.db.session() as s:
            rows = s.scalars(query).all()
            now = utcnow()
            claimed = []
            for row in rows:
                status = status_for(_record(row)) if status_for is not None else JobStatus.IN_PROGRESS
                if not status.is_running:
                    raise ValueError(f"a claimed job must be running, not {status.value!r}")
                row.status_history = [*row.status_history, {"status": status.value, "date": iso(now)}]
                row.status = status.value
                row.lease_owner = owner
                row.lease_expires_at = now + timedelta(seconds=lease_s)
                row.updated_at = now
                claimed.append(row)
            s.flush()
            return [_record(row) for row in claimed]

    def renew_leases(self, *, owner: str, job_ids: Sequence[str], lease_s: float) -> int:
        """Extends `owner`'s leases on those of `job_ids` it still runs; returns how many it still holds."""
        if not job_ids:
            return 0
        query = (
            update(JobRow)
            .where(JobRow.id.in_(list(job_ids)), JobRow.lease_owner == owner, JobRow.status.in_(_RUNNING))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        with self.db.session() as s:
            return cast(CursorResult[Any], s.execute(query)).rowcount

    def requeue_expired(self, *, now: datetime | None = None) -> list[str]:
        """Running jobs whose lease ran out (their worker died or hung) go back to the queue, or fail after
        MAX_RUNS interrupted runs, as in `requeue_interrupted`; returns the ids requeued."""
        now = as_utc(now) if now is not None else utcnow()
        query = (
            select(JobRow)
            .where(JobRow.status.in_(_RUNNING), JobRow.lease_expires_at.is_not(None), JobRow.lease_expires_at < now)
            .order_by(JobRow.seq)
            .with_for_update(skip_locked=True)
        )
        with self.db.session() as s:
            return _requeue(s.scalars(query).all(), now)

    def undelivered_webhooks(self) -> list[JobRecord]:
        terminal = [st.value for st in JobStatus if st.is_terminal]
        with self.db.read() as s:
            rows = s.scalars(
                select(JobRow).where(
                    JobRow.webhook_url.is_not(None),
                    JobRow.webhook_delivered.is_(False),
                    JobRow.status.in_(terminal),
                )
            ).all()
            return [_record(r) for r in rows]

    def mark_webhook_delivered(self, job_id: str) -> None:
        with self.db.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(webhook_delivered=True))
