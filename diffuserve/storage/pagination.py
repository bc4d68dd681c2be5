"""Opaque pagination tokens (an offset, base64url-encoded) shared by every listing."""

from __future__ import annotations

import base64
import json

from diffuserve.errors import InvalidRequest

MAX_OFFSET = 2**31  # far beyond any real listing, well inside what the database takes as an OFFSET


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        offset = json.loads(raw)["o"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(
            "paginationToken is not a token returned by a previous page",
            field="paginationToken",
            reason="invalid_pagination_token",
        ) from exc
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest("paginationToken is not valid", field="paginationToken", reason="invalid_pagination_token")
    return offset
