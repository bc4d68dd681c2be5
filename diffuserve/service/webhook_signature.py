"""Webhook signatures as the Standard Webhooks convention has them (standardwebhooks.com, used by Svix and others).

Each delivery carries `webhook-id` (the message id: the job id, the same on every retry), `webhook-timestamp`
(unix seconds of this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256>` computed with the secret's key
over `<webhook-id>.<webhook-timestamp>.<body>`. The secret is written `whsec_<base64 key>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from pathlib import Path

from diffuserve.errors import ConfigError

PREFIX = "whsec_"
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64


def parse_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ConfigError when it is not one."""
    encoded = secret.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ConfigError(
            f"webhook_secret must be {PREFIX} followed by base64 of {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes",
            reason="invalid_webhook_secret",
        )
    return key


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def load_or_create_secret(path: Path) -> str:
    """The webhook secret kept in the data folder (created once, readable by the owner only)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(new_secret())
    tmp.replace(path)
    return path.read_text().strip()


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, msg_id, timestamp, body),
        "content-type": "application/json",
    }
