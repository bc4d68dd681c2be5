"""API keys and projects in the database (secrets only as salted hashes)."""

from __future__ import annotations

import builtins

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from diffuserve.errors import Conflict
from diffuserve.storage.database import Database
from diffuserve.storage.records import ApiKeyRecord, ProjectRecord
from diffuserve.storage.tables import ApiKeyRow, ProjectRow
from diffuserve.storage.timeutil import as_utc


def _key(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id,
        salt=row.salt,
        secret_hash=row.secret_hash,
        created_at=as_utc(row.created_at),
        revoked=row.revoked,
        project_id=row.project_id,
        role=row.role,
        name=row.name,
    )


def _project(row: ProjectRow) -> ProjectRecord:
    return ProjectRecord(id=row.id, name=row.name, created_at=as_utc(row.created_at))


class KeyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, key: ApiKeyRecord) -> None:
        with self.db.session() as s:
            s.add(
                ApiKeyRow(
                    key_id=key.key_id,
                    salt=key.salt,
                    secret_hash=key.secret_hash,
                    created_at=key.created_at,
                    revoked=key.revoked,
                    project_id=key.project_id,
                    role=key.role,
                    name=key.name,
                )
            )

    def get(self, key_id: str) -> ApiKeyRecord | None:
        with self.db.read() as s:
            row = s.get(ApiKeyRow, key_id)
            return None if row is None else _key(row)

    def list(self, *, project_id: str | None = None) -> list[ApiKeyRecord]:
        """Keys oldest first, of one project or all."""
        with self.db.read() as s:
            query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id)
            if project_id is not None:
                query = query.where(ApiKeyRow.project_id == project_id)
            return [_key(row) for row in s.scalars(query)]

    def revoke(self, key_id: str) -> bool:
        """Marks the key revoked; False when there is no such key."""
        with self.db.session() as s:
            result = s.execute(update(ApiKeyRow).where(ApiKeyRow.key_id == key_id).values(revoked=True))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- projects --

    def insert_project(self, project: ProjectRecord) -> None:
        try:
            with self.db.session() as s:
                s.add(ProjectRow(id=project.id, name=project.name, created_at=project.created_at))
        except IntegrityError:
            raise Conflict(f"a project named {project.name!r} exists already", reason="project_exists") from None

    def project(self, *, id: str | None = None, name: str | None = None) -> ProjectRecord | None:
        with self.db.read() as s:
            query = (
                select(ProjectRow).where(ProjectRow.id == id)
                if id
                else select(ProjectRow).where(ProjectRow.name == name)
            )
            row = s.scalars(query).first()
            return None if row is None else _project(row)

    def projects(self) -> builtins.list[ProjectRecord]:
        with self.db.read() as s:
            return [_project(row) for row in s.scalars(select(ProjectRow).order_by(ProjectRow.created_at))]
