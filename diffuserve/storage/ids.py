"""Prefixed random ids, as Scenario's (`job_` + 25 base62 characters, `asset_` + 22)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 22) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_job_id() -> str:
    return new_id("job_", 25)


def new_asset_id() -> str:
    return new_id("asset_", 22)
