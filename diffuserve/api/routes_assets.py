"""POST/GET/DELETE /v1/assets and the signed content URL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.api.schemas import AssetCreate, AssetsDelete, body_schema
from diffuserve.errors import NotFound
from diffuserve.service.coerce import query_flag
from diffuserve.service.response_schemas import AssetList, AssetResponse, documented
from diffuserve.service.signing import asset_content_path

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.post("", openapi_extra=body_schema(AssetCreate), response_model=None, responses=documented(AssetResponse))
def post_asset(body: Annotated[dict[str, Any], Body()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.assets.upload(body, caller=caller)


@router.get("", response_model=None, responses=documented(AssetList))
def list_assets(
    services: ServicesDep,
    caller: CallerDep,
    inferenceId: str | None = None,
    modelId: str | None = None,
    parentAssetId: str | None = None,
    rootAssetId: str | None = None,
    authorId: str | None = None,
    type: str | None = None,
    types: Annotated[list[str] | None, Query()] = None,
    privacy: str | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
    collectionId: str | None = None,
    createdAfter: str | None = None,
    createdBefore: str | None = None,
    updatedAfter: str | None = None,
    updatedBefore: str | None = None,
    sortBy: str | None = None,
    sortDirection: str | None = None,
    pageSize: str | None = None,
    paginationToken: str | None = None,
    originalAssets: str | None = None,
) -> dict[str, Any]:
    return services.assets.list(
        caller=caller,
        inferenceId=inferenceId,
        modelId=modelId,
        parentAssetId=parentAssetId,
        rootAssetId=rootAssetId,
        authorId=authorId,
        type=type,
        types=",".join(types) if types else None,
        privacy=privacy,
        tags=",".join(tags) if tags else None,
        collectionId=collectionId,
        createdAfter=createdAfter,
        createdBefore=createdBefore,
        updatedAfter=updatedAfter,
        updatedBefore=updatedBefore,
        sortBy=sortBy,
        sortDirection=sortDirection,
        pageSize=pageSize,
        paginationToken=paginationToken,
    )


@router.delete("", openapi_extra=body_schema(AssetsDelete))
def delete_assets(body: Annotated[dict[str, Any], Body()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.assets.delete(body.get("assetIds"), caller=caller)  # type: ignore[arg-type]


@router.get("/{assetId}", response_model=None, responses=documented(AssetResponse))
def get_asset(
    assetId: str, services: ServicesDep, caller: CallerDep, originalAssets: str | None = None
) -> dict[str, Any]:
    return services.assets.get(assetId, original_assets=query_flag(originalAssets), caller=caller)


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
