"""API keys in the database (secrets only as salted hashes)."""

from __future__ import annotations

from diffuserve.storage.database import Database
from diffuserve.storage.records import ApiKeyRecord
from diffuserve.storage.tables import ApiKeyRow
from diffuserve.storage.timeutil import as_utc


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
                )
            )

    def get(self, key_id: str) -> ApiKeyRecord | None:
        with self.db.read() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                return None
            return ApiKeyRecord(
                key_id=row.key_id,
                salt=row.salt,
                secret_hash=row.secret_hash,
                created_at=as_utc(row.created_at),
                revoked=row.revoked,
            )
