"""Opaque pagination tokens (an offset, base64url-encoded) shared by every listing."""

from __future__ import annotations

import base64
import json

from diffuserve.errors import InvalidRequest


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        offset = int(json.loads(raw)["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(
            "paginationToken is not a token returned by a previous page",
            field="paginationToken",
            reason="invalid_pagination_token",
        ) from exc
    if offset < 0:
        raise InvalidRequest("paginationToken is not valid", field="paginationToken", reason="invalid_pagination_token")
    return offset
