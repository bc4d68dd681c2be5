"""Multipart uploads (POST /v1/uploads): one row per upload; the parts' bytes live in the blob store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("parts_count", sa.Integer(), nullable=False),
        sa.Column("parts_received", sa.JSON(), nullable=False),
        sa.Column("asset_options", sa.JSON(), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_uploads_expiry", "uploads", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_uploads_expiry", table_name="uploads")
    op.drop_table("uploads")
