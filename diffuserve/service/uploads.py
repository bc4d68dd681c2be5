"""Scenario's multipart uploads (POST /v1/uploads): create, send parts to signed URLs, complete -> an asset.

The flow, as Scenario's SDK and docs describe it: `create` declares the file (fileName, contentType, fileSize,
kind, parts) and answers the upload with one URL per part; the client PUTs each part's bytes to its URL (no
credentials: the URL is signed and expires with the upload); `action: complete` assembles the parts in order,
checks the file and makes it an asset (`entityId`). Completion runs at once, so the answer already says
`imported` (or `failed`, with `errorMessage`, when the file is not a PNG, JPEG or WebP image).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from diffuserve.errors import Conflict, InvalidRequest, NotFound
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.request_schemas import UploadAction, UploadAssetOptions, UploadCreate
from diffuserve.service.signing import UrlSigner, upload_part_path
from diffuserve.service.wire_fields import field_warnings
from diffuserve.storage.asset_store import AssetStore, NewAsset, decode_image
from diffuserve.storage.ids import new_id
from diffuserve.storage.records import AssetRecord
from diffuserve.storage.timeutil import iso, utcnow
from diffuserve.storage.upload_repository import UploadRecord, UploadRepository, UploadStatus

logger = logging.getLogger(__name__)

# The formats the file may be; the asset's mimeType is the format the bytes turn out to have.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
EXPIRED_ERROR = "the upload expired before it was completed"
SWEEP_LIMIT = 20  # expired uploads cleaned up per create call


def part_key(upload_id: str, number: int) -> str:
    return f"uploads/{upload_id}/{number}"


class UploadService:
    def __init__(
        self, *, uploads: UploadRepository, assets: AssetStore, signer: UrlSigner, strict_fields: bool = False
    ) -> None:
        self.strict_fields = strict_fields  # unknown body fields are a 400 instead of a warning
        self.uploads = uploads
        self.assets = assets
        self.blobs = assets.blobs
        self.signer = signer

    # -- the wire --

    def _wire(self, upload: UploadRecord) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": upload.id,
            "authorId": upload.author_id,
            "ownerId": upload.owner_id,
            "createdAt": iso(upload.created_at),
            "updatedAt": iso(upload.updated_at),
            "fileName": upload.file_name,
            "originalFileName": upload.file_name,
            "kind": upload.kind,
            "source": "multipart",
            "status": upload.status.value,
            "contentType": upload.content_type,
            "fileSize": upload.file_size,
            "partsCount": upload.parts_count,
        }
        if upload.asset_options:
            wire["assetOptions"] = dict(upload.asset_options)
        if upload.status is UploadStatus.PENDING:
            expires = int(upload.expires_at.timestamp())
            wire["parts"] = [
                {
                    "number": n,
                    "url": self.signer.sign_until(upload_part_path(upload.id, n), expires),
                    "expires": iso(upload.expires_at),
                }
                for n in range(1, upload.parts_count + 1)
            ]
        if upload.asset_id is not None:
            wire["entityId"] = upload.asset_id
        if upload.error is not None:
            wire["errorMessage"] = upload.error
        return {"upload": wire}

    # -- create --

    def create(
        self, body: UploadCreate, *, caller: Caller = LOCAL_CALLER, dry_run: bool = False
    ) -> tuple[int, dict[str, Any]]:
        """POST /uploads -> (200, {"upload"}) with the part URLs, or (269, {"creativeUnitsCost": 0})."""
        caller.may_write()
        warnings = field_warnings(body, "an upload", strict=self.strict_fields)
        options = self._asset_options(body.assetOptions, owner_id=caller.project_id)
        if dry_run:
            return 269, {"creativeUnitsCost": 0, **warnings}
        self.sweep_expired()
        now = utcnow().replace(microsecond=0)
        upload = UploadRecord(
            id=new_id("upload_", 22),
            status=UploadStatus.PENDING,
            kind=body.kind,
            file_name=body.fileName,
            content_type=body.contentType,
            file_size=body.fileSize,
            parts_count=body.parts,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=self.signer.ttl_s),
            author_id=caller.key_id,
            owner_id=caller.project_id,
            asset_options=options,
        )
        self.uploads.insert(upload)
        logger.info("upload created upload_id=%s size=%d parts=%d", upload.id, body.fileSize, body.parts)
        return 200, {**self._wire(upload), **warnings}

    def _asset_options(self, value: UploadAssetOptions | None, *, owner_id: str) -> dict[str, Any]:
        if value is None:
            return {}
        options: dict[str, Any] = {}
        if value.hide is not None:
            options["hide"] = value.hide
        if value.parentId:
            self.assets.get(value.parentId, owner_id=owner_id)  # NotFound for an unknown parent, as POST /assets
            options["parentId"] = value.parentId
        if value.collectionIds is not None:
            options["collectionIds"] = value.collectionIds  # echoed; diffuserve keeps no collections
        return options

    # -- read --

    def get(self, upload_id: str, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        return self._wire(self._current(upload_id, owner_id=caller.project_id))

    def _current(self, upload_id: str, *, now: datetime | None = None, owner_id: str | None = None) -> UploadRecord:
        """The upload, failed first when it is pending past its deadline."""
        upload = self.uploads.get(upload_id, owner_id=owner_id)
        if upload.status is UploadStatus.PENDING and upload.expires_at <= (now or utcnow()):
            with contextlib.suppress(Conflict):  # completed or failed meanwhile: as it is now
                self._fail(upload, EXPIRED_ERROR, expected=UploadStatus.PENDING)
            upload = self.uploads.get(upload_id)
        return upload

    # -- parts --

    def put_part(self, upload_id: str, number: int, data: bytes) -> str:
        """Stores part `number` of a pending upload (sending a part again replaces it); returns its ETag."""
        upload = self._current(upload_id)
        if upload.status is not UploadStatus.PENDING:
            raise Conflict(
                f"upload {upload_id!r} is {upload.status.value}; parts are taken only while it is pending",
                reason="upload_not_pending",
            )
        if not 1 <= number <= upload.parts_count:
            raise InvalidRequest(
                f"part {number} does not exist: upload {upload_id!r} has parts 1 to {upload.parts_count}",
                field="partNumber",
            )
        if not data:
            raise InvalidRequest(f"part {number} is empty", field="body", reason="empty_part")
        others = sum(size for n, size in upload.parts_received.items() if n != number)
        if others + len(data) > upload.file_size:
            raise InvalidRequest(
                f"the parts would hold {others + len(data)} bytes, more than the declared fileSize of "
                f"{upload.file_size}",
                field="fileSize",
                reason="upload_too_large",
            )
        key = part_key(upload_id, number)
        self.blobs.put(key, data)
        try:
            self.uploads.record_part(upload_id, number, len(data))
        except (InvalidRequest, Conflict):
            self.blobs.delete(key)
            raise
        return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'

    # -- actions --

    def action(self, upload_id: str, body: UploadAction, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """POST /uploads/{id}/action: `{"action": "complete"}`, the one action Scenario has."""
        warnings = field_warnings(body, "an upload action", strict=self.strict_fields)
        return {**self.complete(upload_id, caller=caller), **warnings}

    def complete(self, upload_id: str, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """Assembles the parts, checks the image and stores it as an asset; the upload says `imported` and
        names the asset in `entityId`. Completing an imported upload again answers it as it is."""
        caller.may_write()
        upload = self._current(upload_id, owner_id=caller.project_id)
        if upload.status is UploadStatus.IMPORTED:
            return self._wire(upload)
        if upload.status is not UploadStatus.PENDING:
            detail = f": {upload.error}" if upload.error else ""
            raise Conflict(f"upload {upload_id!r} is {upload.status.value}{detail}", reason="upload_not_pending")
        self._check_parts(upload)
        if not self.uploads.claim(upload_id):
            raise Conflict(f"upload {upload_id!r} is being completed already", reason="upload_not_pending")
        try:
            data = self._assemble(upload)
            asset = self._import(upload, data)
        except InvalidRequest as exc:
            if exc.reason == "missing_parts":
                self.uploads.finish(upload_id, UploadStatus.PENDING, expected=UploadStatus.VALIDATING)
            else:
                self._fail(upload, exc.message, expected=UploadStatus.VALIDATING)
            raise
        except BaseException:
            # Nothing was decided (the database or blob store failed): the client may complete again.
            self.uploads.finish(upload_id, UploadStatus.PENDING, expected=UploadStatus.VALIDATING)
            raise
        try:  # the asset becomes live with the upload's import, in one transaction
            done = self.uploads.finish(
                upload_id, UploadStatus.IMPORTED, asset_id=asset.id, expected=UploadStatus.VALIDATING
            )
        except BaseException:
            self.assets.discard([asset])
            raise
        self._delete_parts(done)
        logger.info("upload imported upload_id=%s asset_id=%s", upload_id, asset.id)
        return self._wire(done)

    def _check_parts(self, upload: UploadRecord) -> None:
        """Missing parts or a size other than the declared one: a 400 that leaves the upload pending."""
        missing = upload.missing_parts()
        if missing:
            shown = ", ".join(str(n) for n in missing[:10]) + (", ..." if len(missing) > 10 else "")
            raise InvalidRequest(
                f"upload {upload.id!r} is missing part(s) {shown} of {upload.parts_count}; send them, then complete",
                field="parts",
                reason="missing_parts",
            )
        if upload.bytes_received != upload.file_size:
            raise InvalidRequest(
                f"the parts hold {upload.bytes_received} bytes, not the declared fileSize of {upload.file_size}",
                field="fileSize",
                reason="size_mismatch",
            )

    def _assemble(self, upload: UploadRecord) -> bytes:
        chunks = []
        for n in range(1, upload.parts_count + 1):
            try:
                chunks.append(self.blobs.get(part_key(upload.id, n)))
            except NotFound:
                raise InvalidRequest(
                    f"part {n} of upload {upload.id!r} is gone; send it again, then complete",
                    field="parts",
                    reason="missing_parts",
                ) from None
        return b"".join(chunks)

    def _import(self, upload: UploadRecord, data: bytes) -> AssetRecord:
        """The assembled file as a pending image asset; InvalidRequest when it is not a PNG, JPEG or WebP image."""
        try:
            image = decode_image(data, field_name="file")
        except InvalidRequest as exc:
            if exc.reason != "invalid_image":
                raise
            raise InvalidRequest(
                "the uploaded file is not a readable PNG, JPEG or WebP image", field="file", reason="invalid_image"
            ) from exc
        if image.format not in IMAGE_FORMATS:
            raise InvalidRequest(
                f"the uploaded file is a {image.format} image; uploads take PNG, JPEG or WebP",
                field="file",
                reason="unsupported_image_type",
            )
        options = upload.asset_options
        return self.assets.stage(
            data,
            NewAsset(
                name=upload.file_name,
                source="uploaded",
                asset_type="uploaded",
                author_id=upload.author_id,
                owner_id=upload.owner_id,
                hidden=bool(options.get("hide", False)),
                parent_id=options.get("parentId"),
                metadata={"name": upload.file_name},
            ),
            image=image,
        )

    # -- clean-up --

    def _fail(self, upload: UploadRecord, error: str, *, expected: UploadStatus) -> None:
        failed = self.uploads.finish(upload.id, UploadStatus.FAILED, error=error, expected=expected)
        self._delete_parts(failed)
        logger.info("upload failed upload_id=%s error=%s", upload.id, error)

    def _delete_parts(self, upload: UploadRecord) -> None:
        for n in range(1, upload.parts_count + 1):
            self.blobs.delete(part_key(upload.id, n))

    def sweep_expired(self, *, now: datetime | None = None) -> int:
        """Fails pending uploads past their deadline and deletes their parts (a few per call); how many."""
        expired = self.uploads.fail_expired(now or utcnow(), limit=SWEEP_LIMIT, error=EXPIRED_ERROR)
        for upload in expired:
            self._delete_parts(upload)
        return len(expired)
