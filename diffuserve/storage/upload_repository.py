"""Multipart uploads in the database: the upload's record and the parts received so far (bytes are blobs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from diffuserve.errors import Conflict, InvalidRequest, NotFound
from diffuserve.storage.asset_repository import make_live
from diffuserve.storage.database import Database
from diffuserve.storage.tables import UploadRow
from diffuserve.storage.timeutil import as_utc, utcnow


class UploadStatus(StrEnum):
    """An upload's lifecycle; the values are the wire strings of Scenario's Upload.status."""

    PENDING = "pending"  # created; parts may be sent
    VALIDATING = "validating"  # completion is assembling and checking the file
    IMPORTED = "imported"  # the file became an asset (entityId)
    FAILED = "failed"  # the file was refused, or the upload expired; errorMessage says why


@dataclass(frozen=True)
class UploadRecord:
    """An upload as stored; `parts_received` maps part number to its size in bytes."""

    id: str
    status: UploadStatus
    kind: str
    file_name: str
    content_type: str
    file_size: int
    parts_count: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    author_id: str
    owner_id: str
    parts_received: dict[int, int] = field(default_factory=dict)
    asset_options: dict[str, Any] = field(default_factory=dict)
    asset_id: str | None = None
    error: str | None = None

    def missing_parts(self) -> list[int]:
        return [n for n in range(1, self.parts_count + 1) if n not in self.parts_received]

    @property
    def bytes_received(self) -> int:
        return sum(self.parts_received.values())


def _record(row: UploadRow) -> UploadRecord:
    return UploadRecord(
        id=row.id,
        status=UploadStatus(row.status),
        kind=row.kind,
        file_name=row.file_name,
        content_type=row.content_type,
        file_size=row.file_size,
        parts_count=row.parts_count,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        expires_at=as_utc(row.expires_at),
        author_id=row.author_id,
        owner_id=row.owner_id,
        parts_received={int(n): size for n, size in row.parts_received.items()},
        asset_options=dict(row.asset_options),
        asset_id=row.asset_id,
        error=row.error,
    )


def _not_found(upload_id: str) -> NotFound:
    return NotFound(f"upload {upload_id!r} does not exist", reason="upload_not_found")


class UploadRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, upload: UploadRecord) -> UploadRecord:
        row = UploadRow(
            id=upload.id,
            status=upload.status.value,
            kind=upload.kind,
            file_name=upload.file_name,
            content_type=upload.content_type,
            file_size=upload.file_size,
            parts_count=upload.parts_count,
            parts_received={str(n): size for n, size in upload.parts_received.items()},
            asset_options=upload.asset_options,
            asset_id=upload.asset_id,
            error=upload.error,
            author_id=upload.author_id,
            owner_id=upload.owner_id,
            created_at=upload.created_at,
            updated_at=upload.updated_at,
            expires_at=upload.expires_at,
        )
        with self.db.session() as s:
            s.add(row)
        return upload

    def get(self, upload_id: str, *, owner_id: str | None = None) -> UploadRecord:
        with self.db.read() as s:
            row = s.get(UploadRow, upload_id)
            if row is None or (owner_id is not None and row.owner_id != owner_id):
                raise _not_found(upload_id)
            return _record(row)

    def _locked(self, s: Session, upload_id: str) -> UploadRow:
        # FOR UPDATE on PostgreSQL; SQLite's write sessions already hold the database (BEGIN IMMEDIATE).
        row = s.get(UploadRow, upload_id, with_for_update=True)
        if row is None:
            raise _not_found(upload_id)
        return row

    def record_part(self, upload_id: str, number: int, size: int) -> UploadRecord:
        """Notes part `number` (`size` bytes, already in the blob store) on a pending upload. Conflict when the
        upload is no longer pending; InvalidRequest, with the part forgotten, when the parts would hold more
        than the declared file size (parts sent at the same time are checked one after the other)."""
        with self.db.session() as s:
            row = self._locked(s, upload_id)
            if row.status != UploadStatus.PENDING:
                raise Conflict(
                    f"upload {upload_id!r} is {row.status}; parts are taken only while it is pending",
                    reason="upload_not_pending",
                )
            parts = {n: v for n, v in row.parts_received.items() if n != str(number)}
            total = sum(parts.values()) + size
            if total <= row.file_size:
                parts[str(number)] = size
            row.parts_received = parts
            row.updated_at = utcnow()
            record = _record(row)
        if total > record.file_size:
            raise InvalidRequest(
                f"the parts would hold {total} bytes, more than the declared fileSize of {record.file_size}",
                field="fileSize",
                reason="upload_too_large",
            )
        return record

    def claim(self, upload_id: str) -> bool:
        """pending -> validating, for the one completion that assembles the file; False when it was not pending."""
        with self.db.session() as s:
            done = s.execute(
                update(UploadRow)
                .where(UploadRow.id == upload_id, UploadRow.status == UploadStatus.PENDING.value)
                .values(status=UploadStatus.VALIDATING.value, updated_at=utcnow())
            )
            return bool(getattr(done, "rowcount", 0) == 1)

    def finish(
        self,
        upload_id: str,
        status: UploadStatus,
        *,
        expected: UploadStatus,
        asset_id: str | None = None,
        error: str | None = None,
    ) -> UploadRecord:
        """Moves the upload from `expected` to `status` (imported with its asset, which becomes live with it;
        failed with the reason; or back to pending); Conflict when another process moved it first."""
        with self.db.session() as s:
            row = self._locked(s, upload_id)
            if row.status != expected:
                raise Conflict(f"upload {upload_id!r} is {row.status}, not {expected}", reason="upload_not_pending")
            row.status = status.value
            row.asset_id = asset_id
            row.error = error
            row.updated_at = utcnow()
            if asset_id is not None:
                make_live(s, [asset_id])
            return _record(row)

    def reopen_validating(self) -> list[str]:
        """Uploads a crash left half-completed go back to pending (at start, when no completion can be running),
        so the client may complete them again or they expire; returns their ids."""
        with self.db.session() as s:
            rows = s.scalars(select(UploadRow).where(UploadRow.status == UploadStatus.VALIDATING.value)).all()
            for row in rows:
                row.status = UploadStatus.PENDING.value
                row.updated_at = utcnow()
            return [r.id for r in rows]

    def pending_ids(self) -> set[str]:
        """Uploads still taking parts (their part blobs are in use)."""
        with self.db.read() as s:
            return set(s.scalars(select(UploadRow.id).where(UploadRow.status == UploadStatus.PENDING.value)).all())

    def fail_expired(self, now: datetime, *, limit: int, error: str) -> list[UploadRecord]:
        """Marks up to `limit` pending uploads past their deadline failed and returns them (their parts go)."""
        with self.db.session() as s:
            rows = s.scalars(
                select(UploadRow)
                .where(UploadRow.status == UploadStatus.PENDING.value, UploadRow.expires_at < now)
                .order_by(UploadRow.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.status = UploadStatus.FAILED.value
                row.error = error
                row.updated_at = utcnow()
            return [_record(r) for r in rows]
