"""Image assets end to end: bytes in the blob store, the record in the database, PIL images out.

Write order, so that a crash at any point leaves nothing a sweep cannot find: the row first, pending (not live),
then the blob, then the row made live (by `create`, or by the write that refers to the asset: a job, an upload).
Removal is the same backwards: rows marked pending, blobs removed, rows settled.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

from diffuserve.crashpoints import pause_point
from diffuserve.errors import InvalidRequest
from diffuserve.storage.asset_repository import AssetRepository
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.ids import new_asset_id
from diffuserve.storage.records import AssetRecord
from diffuserve.storage.timeutil import utcnow

logger = logging.getLogger(__name__)

MIME_BY_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}
EXTENSION_BY_MIME = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
}
MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class NewAsset:
    """What a new image asset is, apart from its bytes."""

    name: str
    source: str
    asset_type: str
    author_id: str
    owner_id: str
    hidden: bool = False
    parent_id: str | None = None
    inference_id: str | None = None
    model_id: str | None = None
    output_index: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def decode_image(data: bytes, *, field_name: str) -> Image.Image:
    """Bytes to a fully loaded PIL image, or InvalidRequest naming the field."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(MIME_BY_FORMAT))
        if image.width * image.height > MAX_PIXELS:
            raise InvalidRequest(
                f"{field_name} is {image.width}x{image.height}; at most {MAX_PIXELS} pixels are allowed",
                field=field_name,
                reason="image_too_large",
            )
        image.load()
    except Image.DecompressionBombError as exc:
        raise InvalidRequest(
            f"{field_name} has too many pixels; at most {MAX_PIXELS} are allowed",
            field=field_name,
            reason="image_too_large",
        ) from exc
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        NotImplementedError,
        struct.error,
    ) as exc:
        # Pillow's decoders signal a malformed file with any of these.
        raise InvalidRequest(
            f"{field_name} is not a readable image (PNG, JPEG, WebP, GIF or BMP expected)",
            field=field_name,
            reason="invalid_image",
        ) from exc
    return image


def png_bytes(image: Image.Image, pnginfo: Any = None) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=pnginfo)
    return buf.getvalue()


class AssetStore:
    """Creates and reads image assets; keeps the blob and the row in step."""

    def __init__(self, repository: AssetRepository, blobs: BlobStore) -> None:
        self.repository = repository
        self.blobs = blobs

    def create(self, data: bytes, new: NewAsset, *, image: Image.Image | None = None) -> AssetRecord:
        """Stores encoded image bytes as they are (the original file) and records the asset, live at once."""
        record = self.stage(data, new, image=image)
        self.repository.commit([record.id])
        return record

    def stage(self, data: bytes, new: NewAsset, *, image: Image.Image | None = None) -> AssetRecord:
        """As `create`, but the asset stays pending until the write that refers to it makes it live
        (`make_live` in that write's transaction), or `discard` removes it."""
        if image is None:
            image = decode_image(data, field_name="image")
        fmt = (image.format or "PNG").upper()
        mime = MIME_BY_FORMAT.get(fmt)
        if mime is None:
            data, mime = png_bytes(image), "image/png"
        asset_id = new_asset_id()
        blob_key = f"assets/{asset_id[6:8]}/{asset_id}.{EXTENSION_BY_MIME[mime]}"
        parent_root: str | None = None
        if new.parent_id is not None:
            try:
                parent = self.repository.get(new.parent_id, pending=True)
                parent_root = parent.root_parent_id or parent.id
            except Exception:  # a parent id that is gone still gets recorded as given
                parent_root = new.parent_id
        now = utcnow()
        metadata = {"kind": "image", "type": new.asset_type, **new.metadata, "size": len(data)}
        if new.parent_id is not None:
            metadata.setdefault("parentId", new.parent_id)
            metadata.setdefault("rootParentId", parent_root)
        record = AssetRecord(
            id=asset_id,
            name=new.name,
            mime_type=mime,
            blob_key=blob_key,
            size=len(data),
            width=image.width,
            height=image.height,
            source=new.source,
            hidden=new.hidden,
            metadata=metadata,
            created_at=now,
            updated_at=now,
            author_id=new.author_id,
            owner_id=new.owner_id,
            parent_id=new.parent_id,
            root_parent_id=parent_root,
            inference_id=new.inference_id,
            model_id=new.model_id,
            asset_type=new.asset_type,
            output_index=new.output_index,
        )
        self.repository.insert(record, pending=True)
        pause_point("asset.row")
        try:
            self.blobs.put(blob_key, data)
        except BaseException:
            self.discard([record])
            raise
        pause_point("asset.blob")
        logger.info("asset created asset_id=%s type=%s size=%d", asset_id, new.asset_type, len(data))
        return record

    def get(self, asset_id: str, *, owner_id: str | None = None) -> AssetRecord:
        return self.repository.get(asset_id, owner_id=owner_id)

    def read(self, asset_id: str, *, owner_id: str | None = None) -> tuple[AssetRecord, bytes]:
        record = self.repository.get(asset_id, owner_id=owner_id)
        return record, self.blobs.get(record.blob_key)

    def load_image(self, asset_id: str, *, field_name: str, owner_id: str | None = None) -> Image.Image:
        _, data = self.read(asset_id, owner_id=owner_id)
        return decode_image(data, field_name=field_name)

    def delete(self, asset_ids: list[str], *, owner_id: str | None = None) -> None:
        self.discard(self.repository.delete(asset_ids, owner_id=owner_id))

    def delete_outputs_of(self, job_id: str) -> None:
        self.discard(self.repository.delete_outputs_of(job_id))

    def discard(self, records: list[AssetRecord]) -> None:
        """Removes the blobs of pending assets, then settles their rows (deleted, no longer pending)."""
        if not records:
            return
        pause_point("asset.discard")
        for record in records:
            self.blobs.delete(record.blob_key)
        self.repository.settle([r.id for r in records])
