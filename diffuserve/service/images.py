"""Image inputs on the wire: data URLs, bare base64 and asset ids."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from diffuserve.errors import InvalidRequest

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,(?P<data>.*)$", re.S)
MAX_INLINE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ImageRef:
    """One image input: either an existing asset or inline bytes still to become an asset."""

    field: str
    asset_id: str | None = None
    data: bytes | None = None


def decode_base64(text: str, *, field: str) -> bytes:
    if len(text) > MAX_INLINE_BYTES * 4 // 3 + 4:
        raise InvalidRequest(f"{field} is larger than {MAX_INLINE_BYTES} bytes", field=field, reason="too_large")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{field} is not valid base64", field=field, reason="invalid_image") from None


def parse_image_ref(value: str, *, field: str, allow_bare_base64: bool = False) -> ImageRef:
    """`data:image/...;base64,...` or `asset_...` (or, for uploads, bare base64)."""
    text = value.strip()
    match = _DATA_URL.match(text)
    if match:
        return ImageRef(field=field, data=decode_base64(match.group("data"), field=field))
    if text.startswith("asset_"):
        return ImageRef(field=field, asset_id=text)
    if allow_bare_base64 and text:
        return ImageRef(field=field, data=decode_base64(text, field=field))
    raise InvalidRequest(
        f"{field} must be a data URL (data:image/png;base64,...) or an asset id (asset_...)",
        field=field,
        reason="invalid_image",
    )


def asset_ref(value: str, *, field: str) -> ImageRef:
    """Fields that only take asset ids (imageId, maskId, ipAdapterImageIds)."""
    if not value.strip():
        raise InvalidRequest(f"{field} must be an asset id (asset_...)", field=field)
    return ImageRef(field=field, asset_id=value.strip())
