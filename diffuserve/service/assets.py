"""POST/GET/DELETE /assets and asset bytes."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from typing import Any

from diffuserve.errors import InvalidRequest
from diffuserve.service import coerce
from diffuserve.service.images import parse_image_ref
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.signing import UrlSigner
from diffuserve.service.wire import asset_wire
from diffuserve.storage.asset_repository import AssetFilter
from diffuserve.storage.asset_store import AssetStore, NewAsset
from diffuserve.storage.records import AssetRecord

MAX_DELETE = 100
PRIVACIES = ("private", "public", "unlisted")


def _snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class AssetService:
    def __init__(self, *, assets: AssetStore, signer: UrlSigner) -> None:
        self.assets = assets
        self.signer = signer

    def _wire(self, asset: AssetRecord) -> dict[str, Any]:
        return {"asset": asset_wire(asset, self.signer)}

    def upload(self, body: Mapping[str, Any], *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """Body of POST /assets: `name` (required), `image` (base64 or data URL), `hide`, `parentId`."""
        caller.may_write()
        if not isinstance(body, Mapping):
            raise InvalidRequest("the request body must be a JSON object", field="body")
        name = coerce.as_str(body, "name")
        if not name:
            raise InvalidRequest("name is required (the original file name)", field="name", reason="missing_field")
        image = coerce.as_str(body, "image")
        if not image:
            raise InvalidRequest("image is required (base64 or a data URL)", field="image", reason="missing_field")
        ref = parse_image_ref(image, field="image", allow_bare_base64=True)
        if ref.data is None:
            raise InvalidRequest("image must be base64 image data, not an asset id", field="image")
        parent_id = coerce.as_str(body, "parentId") or None
        if parent_id is not None:
            self.assets.get(parent_id, owner_id=caller.project_id)
        record = self.assets.create(
            ref.data,
            NewAsset(
                name=name,
                source="uploaded",
                asset_type="uploaded",
                author_id=caller.key_id,
                owner_id=caller.project_id,
                hidden=coerce.as_bool(body, "hide"),
                parent_id=parent_id,
                metadata={"name": name},
            ),
        )
        return self._wire(record)

    def get(self, asset_id: str, *, original_assets: bool = False, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        # originalAssets changes nothing: every URL serves the original, untransformed file.
        return self._wire(self.assets.get(asset_id, owner_id=caller.project_id))

    def list(self, *, caller: Caller = LOCAL_CALLER, **filters: Any) -> dict[str, Any]:
        """Filters by their GET /assets query names (snake_case accepted too); hidden assets are left out."""
        q = {_snake_to_camel(k): v for k, v in filters.items() if v is not None}
        if q.get("type") and q.get("types"):
            raise InvalidRequest("type and types cannot be used together", field="types")
        types = q.get("types") or ([q["type"]] if q.get("type") else None)
        if isinstance(types, str):
            types = [t.strip() for t in types.split(",") if t.strip()]
        sort_by = q.get("sortBy") or "createdAt"
        if sort_by not in ("createdAt", "updatedAt"):
            raise InvalidRequest(f"sortBy must be createdAt or updatedAt, got {sort_by!r}", field="sortBy")
        direction = (q.get("sortDirection") or "desc").lower()
        if direction not in ("asc", "desc"):
            raise InvalidRequest(f"sortDirection must be asc or desc, got {direction!r}", field="sortDirection")
        privacy = q.get("privacy") or None
        if privacy is not None and privacy not in PRIVACIES:
            raise InvalidRequest(f"privacy must be one of {', '.join(PRIVACIES)}, got {privacy!r}", field="privacy")
        tags = [coerce.text(t.strip(), "tags") for t in (q.get("tags") or "").split(",") if t.strip()]
        flt = AssetFilter(
            inference_id=q.get("inferenceId"),
            model_id=q.get("modelId"),
            parent_asset_id=q.get("parentAssetId"),
            root_asset_id=q.get("rootAssetId"),
            author_id=q.get("authorId"),
            owner_id=caller.project_id,
            types=tuple(types) if types else None,
            privacy=privacy,
            tags=tuple(tags),
            collection_id=q.get("collectionId") or None,
            created_after=coerce.as_datetime(q.get("createdAfter"), "createdAfter"),
            created_before=coerce.as_datetime(q.get("createdBefore"), "createdBefore"),
            updated_after=coerce.as_datetime(q.get("updatedAfter"), "updatedAfter"),
            updated_before=coerce.as_datetime(q.get("updatedBefore"), "updatedBefore"),
            sort_by=sort_by,
            descending=direction == "desc",
        )
        page = self.assets.repository.page(
            flt,
            page_size=coerce.page_size(q.get("pageSize"), default=50, maximum=100),
            pagination_token=q.get("paginationToken"),
        )
        body: dict[str, Any] = {"assets": [asset_wire(a, self.signer) for a in page.items]}
        if page.next_token:
            body["nextPaginationToken"] = page.next_token
        return body

    def delete(self, asset_ids: builtins.list[str], *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        caller.may_write()
        if not isinstance(asset_ids, builtins.list) or not all(isinstance(a, str) for a in asset_ids):
            raise InvalidRequest("assetIds must be an array of asset ids", field="assetIds")
        for i, asset_id in enumerate(asset_ids):
            coerce.text(asset_id, f"assetIds[{i}]")
        if not 1 <= len(asset_ids) <= MAX_DELETE:
            raise InvalidRequest(f"assetIds must hold 1 to {MAX_DELETE} ids, got {len(asset_ids)}", field="assetIds")
        self.assets.delete(asset_ids, owner_id=caller.project_id)
        return {}

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
