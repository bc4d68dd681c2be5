"""API keys: created with a random secret, stored as a salted scrypt hash, checked in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from diffuserve.errors import Unauthorized
from diffuserve.storage.key_repository import KeyRepository
from diffuserve.storage.records import ApiKeyRecord
from diffuserve.storage.timeutil import utcnow

# The author id of requests let through without a key in open mode.
LOCAL_AUTHOR = "local"
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
        if record is None or record.revoked or not hmac.compare_digest(_hash(secret, record.salt), record.secret_hash):
            raise Unauthorized("the API key or secret is wrong", reason="invalid_credentials")
        with self._lock:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[fingerprint] = record.key_id
        return record.key_id


def credentials_from_headers(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(key, secret) from `Authorization: Basic base64(key:secret)` (Scenario clients), or `Bearer key:secret`,
    `API-Key: key:secret`, `X-API-Key: key:secret` (imagepipeline clients); None when there are none."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    raw: str | None
    if scheme.lower() == "basic" and value:
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(
                "the Basic credentials are not base64 of key:secret", reason="invalid_credentials"
            ) from None
    elif scheme.lower() == "bearer" and value:
        raw = value.strip()
    else:
        raw = headers.get("api-key") or headers.get("x-api-key")
    if not raw:
        return None
    key, sep, secret = raw.partition(":")
    if not sep or not key or not secret:
        raise Unauthorized("credentials must be key:secret", reason="invalid_credentials")
    return key, secret


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) and `localhost`."""
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def authenticate(keys: KeyService, headers: Mapping[str, str], client_host: str | None, *, open_mode: bool) -> str:
    """The caller's author id: its key id, or LOCAL_AUTHOR for a loopback client in open mode; else Unauthorized."""
    credentials = credentials_from_headers(headers)
    if credentials is None:
        if open_mode and is_loopback(client_host):
            return LOCAL_AUTHOR
        raise Unauthorized(
            "missing credentials: send Authorization: Basic base64(key:secret) (diffuserve keys create)",
            reason="missing_credentials",
        )
    return keys.verify(*credentials)


def loopback_hosts(public_url: str) -> list[str]:
    """The Host names a loopback server answers to (any port): the loopback names and the public URL's host.
    Any other Host is a page that rebound its domain to 127.0.0.1 (DNS rebinding) and is refused."""
    hosts = ["127.0.0.1", "localhost", "[::1]"]
    public = urlsplit(public_url).hostname
    if public:
        public = f"[{public}]" if ":" in public else public
        if public not in hosts:
            hosts.append(public)
    return hosts
