"""SQLAlchemy tables, in portable types only (String, Text, JSON, DateTime, Integer, Boolean, ...),
so the same schema runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"
    # The queue's scan: queued jobs in submission order.
    __table_args__ = (Index("ix_jobs_queue", "status", "seq"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_type: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[dict[str, Any]] = mapped_column(JSON)
    asset_ids: Mapped[list[str]] = mapped_column(JSON)
    status_history: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Monotonic submission order: FIFO key of the queue (timestamps can tie).
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    author_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    hide_results: Mapped[bool] = mapped_column(Boolean, default=False)
    preview_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    api: Mapped[str] = mapped_column(String(16), default="scenario")
    # The worker running the job and until when its claim holds; both None unless the job is running.
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A user asked to stop the job while it ran: it ends canceled, never back in the queue (survives restarts).
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AssetRow(Base):
    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_listing", "hidden", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    mime_type: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(64))
    asset_type: Mapped[str] = mapped_column(String(64), index=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    tags: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    author_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    root_parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    inference_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    model_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    output_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # A write or removal under way: the row is not live (deleted is true) and its blob, if any, goes unless the
    # write commits. A crash leaves such rows for the sweep (storage/sweep.py), never a file nothing points to.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The project whose jobs and assets the key sees, and what it may do there (admin, member, read-only).
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProjectRow(Base):
    """A team's space (Scenario's ownerId): its keys, jobs, assets and uploads."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UploadRow(Base):
    __tablename__ = "uploads"
    # The sweep of pending uploads past their deadline.
    __table_args__ = (Index("ix_uploads_expiry", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(128))
    file_size: Mapped[int] = mapped_column(BigInteger)
    parts_count: Mapped[int] = mapped_column(Integer)
    # Part number (as a string) -> bytes received; the bytes are in the blob store under uploads/<id>/<n>.
    parts_received: Mapped[dict[str, int]] = mapped_column(JSON)
    asset_options: Mapped[dict[str, Any]] = mapped_column(JSON)
    asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    author_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
