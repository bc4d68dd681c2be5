"""Signed, expiring URLs for asset bytes and previews: HMAC-SHA256 over the path and the expiry time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

MAX_EXPIRES_DIGITS = 12  # unix seconds fit in 12 digits for the next 30,000 years


def load_or_create_secret(path: Path) -> str:
    """The URL signing secret kept in the data folder (created once, readable by the owner only)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    tmp.replace(path)
    return secret


class UrlSigner:
    """Makes and checks `<base><path>?expires=<unix s>&sig=<hex>`; the signature is the only credential."""

    def __init__(self, secret: str, *, base_url: str, ttl_s: int) -> None:
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s

    def _sig(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, path: str, *, now: float | None = None) -> str:
        """A URL valid for at most ttl_s and at least 9/10 of it: the expiry is rounded down to a step of a tenth
        of the lifetime (at most an hour), so a URL stays the same for a while (browser caches) and never
        outlives the lifetime asked for."""
        step = max(1, min(3600, self.ttl_s // 10))
        latest = int((now if now is not None else time.time()) + self.ttl_s)
        return self.sign_until(path, latest - latest % step)

    def sign_until(self, path: str, expires: int) -> str:
        """A URL for `path` that expires at `expires` (unix seconds), for objects with a deadline of their own."""
        return f"{self.base_url}{path}?{urlencode({'expires': expires, 'sig': self._sig(path, expires)})}"

    def verify(self, path: str, expires: str | None, sig: str | None, *, now: float | None = None) -> bool:
        # Both come from an unauthenticated query string: expires must be a few ASCII digits, sig ASCII.
        if not expires or not sig or len(expires) > MAX_EXPIRES_DIGITS:
            return False
        if not (expires.isascii() and expires.isdigit() and sig.isascii()):
            return False
        if int(expires) < (now or time.time()):
            return False
        return hmac.compare_digest(self._sig(path, int(expires)).encode(), sig.encode())


def asset_content_path(asset_id: str) -> str:
    return f"/v1/assets/{asset_id}/content"


def preview_path(job_id: str, index: int) -> str:
    return f"/v1/jobs/{job_id}/previews/{index}"


def upload_part_path(upload_id: str, number: int | str) -> str:
    return f"/v1/uploads/{upload_id}/parts/{number}"


def asset_rendition_path(asset_id: str, file_format: str) -> str:
    return f"/v1/assets/{asset_id}/content/{file_format}"
