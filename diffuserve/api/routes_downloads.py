"""POST /v1/assets/{assetId}/download and the signed URL of an asset in another format."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.errors import NotFound
from diffuserve.service.request_schemas import DownloadRequest
from diffuserve.service.signing import asset_rendition_path

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.post("/{assetId}/download")
def download_asset(
    assetId: str,
    services: ServicesDep,
    caller: CallerDep,
    body: Annotated[DownloadRequest | None, Body()] = None,
) -> dict[str, Any]:
    """`{url, mimeType}`: a signed URL to the original file, or to the image in `targetFormat`."""
    return services.downloads.request(assetId, body, caller=caller)


@router.get("/{assetId}/content/{fileFormat}", tags=["content"])
def get_asset_rendition(assetId: str, fileFormat: str, request: Request, services: ServicesDep) -> Response:
    """The asset's image in another format, at the signed URL a download request gave; no credentials needed."""
    q = request.query_params
    if not services.signer.verify(asset_rendition_path(assetId, fileFormat), q.get("expires"), q.get("sig")):
        raise NotFound("this URL is not valid or has expired", reason="invalid_signature")
    data, mime = services.downloads.render(assetId, fileFormat)
    return Response(data, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})
