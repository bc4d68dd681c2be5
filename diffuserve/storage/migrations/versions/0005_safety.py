"""Nothing lost, nothing left behind: stored cancel requests, and asset rows that are not (or no longer) live.

jobs.cancel_requested: a user asked to stop the running job; a restart or a re-queue ends it canceled instead of
running it again. assets.pending: the row was written before its blob (or is being removed), so a crash leaves a
row the start-up sweep finds and removes with its blob, never a file nothing points to.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:00:05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_assets_pending", ["pending"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.drop_index("ix_assets_pending")
        batch.drop_column("pending")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested")
