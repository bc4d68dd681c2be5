"""POST/GET/DELETE /v1/assets and the signed content URL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from diffuserve.api.deps import CallerDep, ServicesDep, WriterDep
from diffuserve.errors import NotFound
from diffuserve.service.query_schemas import AssetQuery
from diffuserve.service.request_schemas import AssetCreate, AssetsDelete
from diffuserve.service.response_schemas import AssetList, AssetResponse, documented
from diffuserve.service.signing import asset_content_path
from diffuserve.service.wire_types import QueryFlag

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.post("", response_model=None, responses=documented(AssetResponse))
def post_asset(body: Annotated[AssetCreate, Body()], services: ServicesDep, caller: WriterDep) -> dict[str, Any]:
    return services.assets.upload(body, caller=caller)


@router.get("", response_model=None, responses=documented(AssetList))
def list_assets(query: Annotated[AssetQuery, Query()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.assets.list(query, caller=caller)


@router.delete("")
def delete_assets(body: Annotated[AssetsDelete, Body()], services: ServicesDep, caller: WriterDep) -> dict[str, Any]:
    return services.assets.delete(body, caller=caller)


@router.get("/{assetId}", response_model=None, responses=documented(AssetResponse))
def get_asset(
    assetId: str, services: ServicesDep, caller: CallerDep, originalAssets: QueryFlag = False
) -> dict[str, Any]:
    return services.assets.get(assetId, original_assets=originalAssets, caller=caller)


@router.get("/{assetId}/content", tags=["content"])
def get_asset_content(assetId: str, request: Request, services: ServicesDep) -> Response:
    """The asset's bytes at a signed, expiring URL (the `url` of an Asset); no credentials needed."""
    q = request.query_params
    if not services.signer.verify(asset_content_path(assetId), q.get("expires"), q.get("sig")):
        raise NotFound("this URL is not valid or has expired", reason="invalid_signature")
    data, mime = services.assets.read(assetId)
    name = services.assets.file_name(assetId)
    headers = {"Cache-Control": "private, max-age=3600", "Content-Disposition": f'inline; filename="{name}"'}
    return Response(data, media_type=mime, headers=headers)
