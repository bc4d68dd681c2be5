"""POST /assets/{assetId}/download: a signed URL to the original file, or to the image in another format."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, features

from diffuserve.errors import InvalidRequest, NotFound
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.request_schemas import TARGET_FORMATS, DownloadRequest
from diffuserve.service.signing import UrlSigner, asset_content_path, asset_rendition_path
from diffuserve.service.wire_fields import field_warnings
from diffuserve.storage.asset_store import AssetStore

# Served format -> (Pillow format, MIME type).
RENDITIONS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
    "gif": ("GIF", "image/gif"),
    "tiff": ("TIFF", "image/tiff"),
    "avif": ("AVIF", "image/avif"),
}


def _available(fmt: str) -> bool:
    return fmt != "avif" or bool(features.check("avif"))


def _encode(image: Image.Image, fmt: str) -> bytes:
    pil_format = RENDITIONS[fmt][0]
    if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    buf = io.BytesIO()
    image.save(buf, format=pil_format)
    return buf.getvalue()


class DownloadService:
    def __init__(self, *, assets: AssetStore, signer: UrlSigner, strict_fields: bool = False) -> None:
        self.assets = assets
        self.signer = signer
        self.strict_fields = strict_fields  # unknown body fields are a 400 instead of a warning

    def request(
        self, asset_id: str, body: DownloadRequest | None = None, *, caller: Caller = LOCAL_CALLER
    ) -> dict[str, Any]:
        """POST /assets/{assetId}/download (`targetFormat`, optional) -> {"url", "mimeType"}: the original file
        when no format, or the asset's own, is asked for."""
        body = body or DownloadRequest()
        warnings = field_warnings(body, "a download request", strict=self.strict_fields)
        asset = self.assets.get(asset_id, owner_id=caller.project_id)
        return {**self._target(asset.id, asset.mime_type, body.targetFormat), **warnings}

    def _target(self, asset_id: str, own_mime: str, target: str | None) -> dict[str, Any]:
        if not target:
            return {"url": self.signer.sign(asset_content_path(asset_id)), "mimeType": own_mime}
        fmt = TARGET_FORMATS.get(target.strip().lower())
        if fmt is None or not _available(fmt):
            choices = ", ".join(f for f in TARGET_FORMATS if _available(TARGET_FORMATS[f]))
            raise InvalidRequest(
                f"targetFormat {target!r} is not available for image assets; use one of {choices}",
                field="targetFormat",
                reason="unsupported_format",
            )
        mime = RENDITIONS[fmt][1]
        if mime == own_mime:
            return {"url": self.signer.sign(asset_content_path(asset_id)), "mimeType": mime}
        return {"url": self.signer.sign(asset_rendition_path(asset_id, fmt)), "mimeType": mime}

    def render(self, asset_id: str, fmt: str) -> tuple[bytes, str]:
        """The asset's image encoded as `fmt` (a key of RENDITIONS), for the signed URL `request` made."""
        if fmt not in RENDITIONS or not _available(fmt):
            raise NotFound(f"format {fmt!r} is not served", reason="not_found")
        image = self.assets.load_image(asset_id, field_name="asset")
        return _encode(image, fmt), RENDITIONS[fmt][1]
