"""API keys and projects: a key is created with a random secret (stored as a salted scrypt hash, checked in
constant time), belongs to one project and has a role there.

A check that hashes costs the same whether the key id exists or not (a dummy hash for unknown ids), is limited
per key id and client address (auth_limits.py: 429 once the failures run out) and runs on a few threads of its
own, so a flood of wrong secrets cannot take the request threads. A pair already verified is remembered by its
SHA-256, but every request still reads the key's row, so a revoked (or re-hashed) key stops working at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread

from diffuserve.errors import Forbidden, InvalidRequest, NotFound, RateLimited, Unauthorized
from diffuserve.service.auth_limits import REFUSAL_DELAY_S, AuthLimiter
from diffuserve.storage.key_repository import KeyRepository
from diffuserve.storage.records import DEFAULT_PROJECT_ID, ApiKeyRecord, ProjectRecord
from diffuserve.storage.timeutil import iso, utcnow

# The author id of requests let through without a key in open mode.
LOCAL_AUTHOR = "local"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_CACHE_SIZE = 1024
PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Role(StrEnum):
    """What a key may do in its project: admin manages keys too; read-only reads only."""

    ADMIN = "admin"
    MEMBER = "member"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the key (the author id of what it creates), its project (the owner of what it sees) and role."""

    key_id: str
    project_id: str
    role: Role

    def may_write(self) -> None:
        """Generating, uploading, deleting and cancelling need member or admin."""
        if self.role is Role.READ_ONLY:
            raise Forbidden(f"the key {self.key_id} is read-only", reason="read_only_key")

    def may_administer(self) -> None:
        if self.role is not Role.ADMIN:
            raise Forbidden(f"managing keys needs an admin key; {self.key_id} is {self.role.value}", reason="not_admin")


# Requests without a key in open mode act as the default project's admin.
LOCAL_CALLER = Caller(key_id=LOCAL_AUTHOR, project_id=DEFAULT_PROJECT_ID, role=Role.ADMIN)

# scrypt checks run at once (16 MiB and ~0.1 s of a core each), a quarter of the cores: a flood of wrong secrets
# never takes more; more checks wait, off the request threads.
HASH_SLOTS = max(1, (os.cpu_count() or 1) // 4)
# ... on threads that yield the CPU to serving requests (Linux: a thread's own nice value, this much above the
# process's), so a burst of failed checks delays the legitimate requests running beside it little.
HASH_NICE = 10


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # per-thread nice: Linux only
        os.setpriority(
            os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(os.PRIO_PROCESS, 0) + HASH_NICE)
        )


@dataclass(frozen=True)
class NewKey:
    """Shown once at creation; only the hash of the secret is kept."""

    key: str
    secret: str
    project_id: str = DEFAULT_PROJECT_ID
    role: Role = Role.ADMIN


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]


def key_wire(record: ApiKeyRecord, project_name: str | None = None) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": record.key_id,
        "projectId": record.project_id,
        "role": record.role,
        "revoked": record.revoked,
        "createdAt": iso(record.created_at),
    }
    if project_name is not None:
        wire["project"] = project_name
    if record.name:
        wire["name"] = record.name
    return wire


@dataclass(frozen=True)
class _Verified:
    key_id: str
    secret_hash: bytes


def _caller(record: ApiKeyRecord) -> Caller:
    return Caller(key_id=record.key_id, project_id=record.project_id, role=Role(record.role))


def _wrong() -> Unauthorized:
    return Unauthorized("the API key or secret is wrong", reason="invalid_credentials")


class KeyService:
    def __init__(self, keys: KeyRepository, limiter: AuthLimiter | None = None) -> None:
        self.keys = keys
        self.limiter = limiter
        self._verified: dict[bytes, _Verified] = {}
        self._lock = threading.Lock()
        # Unknown key ids are hashed against these, so they cost what a known key costs and never match.
        self._dummy_salt = secrets.token_bytes(16)
        self._dummy_hash = secrets.token_bytes(32)
        self._slots: asyncio.Semaphore | None = None
        self._hashing: ThreadPoolExecutor | None = None  # made with the slots, at the first check that hashes

    # -- projects --

    def project(self, name_or_id: str) -> ProjectRecord:
        found = self.keys.project(id=name_or_id) or self.keys.project(name=name_or_id)
        if found is None:
            raise NotFound(f"project {name_or_id!r} does not exist", reason="project_not_found")
        return found

    def create_project(self, name: str) -> ProjectRecord:
        if not PROJECT_NAME.fullmatch(name):
            raise InvalidRequest(
                "a project name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                field="name",
            )
        project = ProjectRecord(id="proj_" + secrets.token_hex(8), name=name, created_at=utcnow())
        self.keys.insert_project(project)
        return project

    def projects(self) -> list[ProjectRecord]:
        return self.keys.projects()

    # -- keys --

    def create(self, *, project: str | None = None, role: Role | str = Role.ADMIN, name: str | None = None) -> NewKey:
        """A new key in `project` (name or id; default: the default project) with `role`."""
        try:
            role = Role(role)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidRequest(f"role must be one of {allowed}; got {role!r}", field="role") from None
        project_id = self.project(project).id if project else DEFAULT_PROJECT_ID
        key = NewKey(
            key="api_" + secrets.token_hex(12), secret=secrets.token_urlsafe(32), project_id=project_id, role=role
        )
        salt = secrets.token_bytes(16)
        self.keys.insert(
            ApiKeyRecord(
                key_id=key.key,
                salt=salt,
                secret_hash=_hash(key.secret, salt),
                created_at=utcnow(),
                project_id=project_id,
                role=role.value,
                name=name,
            )
        )
        return key

    def list(self, *, project_id: str | None = None) -> list[ApiKeyRecord]:
        return self.keys.list(project_id=project_id)

    def get(self, key_id: str, *, project_id: str | None = None) -> ApiKeyRecord:
        record = self.keys.get(key_id)
        if record is None or (project_id is not None and record.project_id != project_id):
            raise NotFound(f"key {key_id} does not exist", reason="key_not_found")
        return record

    def revoke(self, key_id: str, *, project_id: str | None = None) -> ApiKeyRecord:
        """Revoked at once, in every process: verify() reads the key's row on every request."""
        self.get(key_id, project_id=project_id)
        self.keys.revoke(key_id)
        with self._lock:
            self._verified = {f: v for f, v in self._verified.items() if v.key_id != key_id}
        return self.get(key_id)

    async def verify(self, key: str, secret: str, *, client: str | None = None) -> Caller:
        """The caller when key and secret match a live stored key; Unauthorized otherwise, or RateLimited when
        this key id or this client address has failed too often lately (answered before any hashing)."""
        fingerprint = hashlib.sha256(f"{key}:{secret}".encode()).digest()
        verified = self._remembered(fingerprint)
        if verified is not None:
            return await self._live(fingerprint, verified)
        record: ApiKeyRecord | None = None
        if self.limiter is not None:
            self.limiter.attempt(key, client)
        if self._slots is None or self._hashing is None:
            self._slots = asyncio.Semaphore(HASH_SLOTS)
            self._hashing = ThreadPoolExecutor(HASH_SLOTS, "diffuserve-scrypt", initializer=_lower_priority)
        async with self._slots:
            # Requests with the same new pair arrive together: the first one hashes, the others find it here.
            verified = self._remembered(fingerprint)
            if verified is None:
                record = await asyncio.get_running_loop().run_in_executor(self._hashing, self._check, key, secret)
                if record is not None:
                    verified = _Verified(record.key_id, record.secret_hash)
                    with self._lock:
                        if len(self._verified) >= _CACHE_SIZE:
                            self._verified.clear()
                        self._verified[fingerprint] = verified
        if verified is None:
            raise _wrong()
        if self.limiter is not None:
            self.limiter.succeeded(key, client)
        if record is None:  # verified by a concurrent request with the same pair: read the key as it is now
            return await self._live(fingerprint, verified)
        return _caller(record)

    def _remembered(self, fingerprint: bytes) -> _Verified | None:
        with self._lock:
            return self._verified.get(fingerprint)

    async def _live(self, fingerprint: bytes, verified: _Verified) -> Caller:
        """A remembered pair's caller, after one read of the key's row (on a request thread, as the request's
        own work): a key revoked or re-hashed since is forgotten and refused."""
        record = await anyio.to_thread.run_sync(self._still_live, verified)
        if record is not None:
            return _caller(record)
        with self._lock:
            self._verified.pop(fingerprint, None)
        raise _wrong()

    def _check(self, key: str, secret: str) -> ApiKeyRecord | None:
        """The key's record when the secret is right and the key live; one scrypt either way."""
        record = self.keys.get(key)
        salt, expected = (
            (record.salt, record.secret_hash) if record is not None else (self._dummy_salt, self._dummy_hash)
        )
        matches = hmac.compare_digest(_hash(secret, salt), expected)
        return record if record is not None and matches and not record.revoked else None

    def _still_live(self, verified: _Verified) -> ApiKeyRecord | None:
        """A remembered pair holds while its key exists, is not revoked and keeps the hash it was checked with."""
        record = self.keys.get(verified.key_id)
        live = (
            record is not None and not record.revoked and hmac.compare_digest(record.secret_hash, verified.secret_hash)
        )
        return record if live else None


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


async def authenticate(
    keys: KeyService, headers: Mapping[str, str], client_host: str | None, *, open_mode: bool
) -> Caller:
    """The caller: its key, or LOCAL_CALLER for a loopback client in open mode; else Unauthorized (or RateLimited
    after too many failures)."""
    credentials = credentials_from_headers(headers)
    if credentials is None:
        if open_mode and is_loopback(client_host):
            return LOCAL_CALLER
        raise Unauthorized(
            "missing credentials: send Authorization: Basic base64(key:secret) (diffuserve keys create)",
            reason="missing_credentials",
        )
    try:
        return await keys.verify(*credentials, client=client_host)
    except RateLimited as exc:
        await asyncio.sleep(min(exc.retry_after_s, REFUSAL_DELAY_S))
        raise


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
