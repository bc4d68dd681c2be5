"""API keys: created with a random secret, stored as a salted scrypt hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from diffuserve.errors import Unauthorized
from diffuserve.storage.key_repository import KeyRepository
from diffuserve.storage.records import ApiKeyRecord
from diffuserve.storage.timeutil import utcnow

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class NewKey:
    """Shown once at creation; only the hash of the secret is kept."""

    key: str
    secret: str


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]


class KeyService:
    def __init__(self, keys: KeyRepository) -> None:
        self.keys = keys
        self._verified: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def create(self) -> NewKey:
        key = NewKey(key="api_" + secrets.token_hex(12), secret=secrets.token_urlsafe(32))
        salt = secrets.token_bytes(16)
        self.keys.insert(
            ApiKeyRecord(key_id=key.key, salt=salt, secret_hash=_hash(key.secret, salt), created_at=utcnow())
        )
        return key

    def verify(self, key: str, secret: str) -> str:
        """The key id when key and secret match a stored key; Unauthorized otherwise."""
        # scrypt is slow on purpose; a pair already verified is remembered by its SHA-256 (in memory only).
        fingerprint = hashlib.sha256(f"{key}:{secret}".encode()).digest()
        with self._lock:
            if fingerprint in self._verified:
                return self._verified[fingerprint]
        record = self.keys.get(key)
        if (
            record is None
            or record.revoked
            or not hmac.compare_digest(_hash(secret, record.salt), record.secret_hash)
        ):
            raise Unauthorized("the API key or secret is wrong", reason="invalid_credentials")
        with self._lock:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[fingerprint] = record.key_id
        return record.key_id
