"""Projects: each API key belongs to one project with a role; jobs, assets and uploads are the project's
(their owner_id). Existing keys become admins of the default project, which owns everything stored so far.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_PROJECT_ID = "proj_diffuserve"


def upgrade() -> None:
    projects = op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.bulk_insert(projects, [{"id": DEFAULT_PROJECT_ID, "name": "default", "created_at": datetime.now(UTC)}])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("project_id", sa.String(length=64), nullable=False, server_default=DEFAULT_PROJECT_ID)
        )
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="admin"))
        batch.add_column(sa.Column("name", sa.Text(), nullable=True))
        batch.create_index("ix_api_keys_project_id", ["project_id"])
    op.create_index("ix_jobs_owner_id", "jobs", ["owner_id"])
    op.create_index("ix_assets_owner_id", "assets", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_assets_owner_id", "assets")
    op.drop_index("ix_jobs_owner_id", "jobs")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_project_id")
        batch.drop_column("name")
        batch.drop_column("role")
        batch.drop_column("project_id")
    op.drop_table("projects")
