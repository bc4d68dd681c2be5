"""POST/GET/DELETE /assets and asset bytes."""

from __future__ import annotations

import re
from typing import Any

from diffuserve.errors import InvalidRequest
from diffuserve.service.images import parse_image_ref
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.query_schemas import AssetQuery
from diffuserve.service.request_schemas import AssetCreate, AssetsDelete
from diffuserve.service.signing import UrlSigner
from diffuserve.service.wire import asset_wire
from diffuserve.service.wire_fields import field_warnings
from diffuserve.storage.asset_repository import AssetFilter
from diffuserve.storage.asset_store import AssetStore, NewAsset
from diffuserve.storage.records import AssetRecord


class AssetService:
    def __init__(self, *, assets: AssetStore, signer: UrlSigner, strict_fields: bool = False) -> None:
        self.assets = assets
        self.signer = signer
        self.strict_fields = strict_fields  # unknown body fields are a 400 instead of a warning

    def _wire(self, asset: AssetRecord) -> dict[str, Any]:
        return {"asset": asset_wire(asset, self.signer)}

    def upload(self, body: AssetCreate, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """POST /assets: the image (base64 or a data URL) stored as an asset named `name`."""
        caller.may_write()
        warnings = field_warnings(body, "an asset upload", strict=self.strict_fields)
        ref = parse_image_ref(body.image, field="image", allow_bare_base64=True)
        if ref.data is None:
            raise InvalidRequest("image must be base64 image data, not an asset id", field="image")
        parent_id = body.parentId or None
        if parent_id is not None:
            self.assets.get(parent_id, owner_id=caller.project_id)
        record = self.assets.create(
            ref.data,
            NewAsset(
                name=body.name,
                source="uploaded",
                asset_type="uploaded",
                author_id=caller.key_id,
                owner_id=caller.project_id,
                hidden=body.hide,
                parent_id=parent_id,
                metadata={"name": body.name},
            ),
        )
        return {**self._wire(record), **warnings}

    def get(self, asset_id: str, *, original_assets: bool = False, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        # originalAssets changes nothing: every URL serves the original, untransformed file.
        return self._wire(self.assets.get(asset_id, owner_id=caller.project_id))

    def list(self, query: AssetQuery, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """GET /assets, newest first by default; hidden assets are left out."""
        if query.type and query.types:
            raise InvalidRequest("type and types cannot be used together", field="types")
        types = query.types or ([query.type] if query.type else None)
        flt = AssetFilter(
            inference_id=query.inferenceId,
            model_id=query.modelId,
            parent_asset_id=query.parentAssetId,
            root_asset_id=query.rootAssetId,
            author_id=query.authorId,
            owner_id=caller.project_id,
            types=tuple(types) if types else None,
            privacy=query.privacy or None,
            tags=tuple(query.tags or ()),
            collection_id=query.collectionId or None,
            created_after=query.createdAfter,
            created_before=query.createdBefore,
            updated_after=query.updatedAfter,
            updated_before=query.updatedBefore,
            sort_by=query.sortBy,
            descending=query.sortDirection == "desc",
        )
        page = self.assets.repository.page(flt, page_size=query.pageSize, pagination_token=query.paginationToken)
        body: dict[str, Any] = {"assets": [asset_wire(a, self.signer) for a in page.items]}
        if page.next_token:
            body["nextPaginationToken"] = page.next_token
        return body

    def delete(self, body: AssetsDelete, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        caller.may_write()
        warnings = field_warnings(body, "an asset deletion", strict=self.strict_fields)
        self.assets.delete(body.assetIds, owner_id=caller.project_id)
        return warnings

    def read(self, asset_id: str) -> tuple[bytes, str]:
        record, data = self.assets.read(asset_id)
        return data, record.mime_type

    def file_name(self, asset_id: str) -> str:
        """A name to save the asset under: the uploaded file's, or prompt_model_seed for a generated image."""
        record = self.assets.get(asset_id)
        meta = record.metadata
        ext = {"image/jpeg": "jpg", "image/webp": "webp"}.get(record.mime_type, "png")
        if meta.get("prompt") is not None:
            slug = re.sub(r"[^a-z0-9]+", "-", str(meta["prompt"]).lower()).strip("-")[:48] or "image"
            parts = [slug, str(meta.get("modelId", "")), str(meta.get("seed", ""))]
            return "_".join(p for p in parts if p) + f".{ext}"
        name = re.sub(r"[^\w.\- ]+", "_", str(meta.get("name") or record.id)).strip() or record.id
        return name if "." in name else f"{name}.{ext}"
