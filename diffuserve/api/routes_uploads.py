"""POST/GET /v1/uploads, PUT of a part at its signed URL, POST /v1/uploads/{uploadId}/action."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.api.schemas import body_schema
from diffuserve.api.schemas_uploads import UploadAction, UploadCreate
from diffuserve.errors import NotFound
from diffuserve.service.coerce import query_flag
from diffuserve.service.signing import upload_part_path

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


@router.post(
    "",
    openapi_extra=body_schema(UploadCreate),
    responses={269: {"description": "Dry run: {creativeUnitsCost}"}},
)
def create_upload(
    body: Annotated[dict[str, Any], Body()],
    services: ServicesDep,
    caller: CallerDep,
    dryRun: Annotated[str | None, Query(description="true: check the body, answer HTTP 269, store nothing")] = None,
) -> JSONResponse:
    """Declares a file and answers the upload with one signed PUT URL per part (`upload.parts`)."""
    # Scenario's SDK sends dryRun=true, or dryRun=api (an estimate at the API tier: the same here).
    dry_run = query_flag(dryRun) or (dryRun or "").strip().lower() == "api"
    status, content = services.uploads.create(body, caller=caller, dry_run=dry_run)
    return JSONResponse(content, status_code=status)


@router.get("/{uploadId}")
def get_upload(uploadId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.uploads.get(uploadId, caller=caller)


@router.post("/{uploadId}/action", openapi_extra=body_schema(UploadAction))
def upload_action(
    uploadId: str, body: Annotated[dict[str, Any], Body()], services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    """`{"action": "complete"}`: the parts become an asset (`upload.entityId`)."""
    return services.uploads.action(uploadId, body, caller=caller)


@router.put("/{uploadId}/parts/{partNumber}", tags=["content"])
async def put_upload_part(uploadId: str, partNumber: str, request: Request, services: ServicesDep) -> Response:
    """The bytes of one part, at the signed, expiring URL the upload gave; no credentials needed."""
    q = request.query_params
    # Only part numbers the server wrote are signed, so a verified partNumber is a plain integer.
    if not services.signer.verify(upload_part_path(uploadId, partNumber), q.get("expires"), q.get("sig")):
        raise NotFound("this URL is not valid or has expired", reason="invalid_signature")
    data = await request.body()
    etag = await asyncio.to_thread(services.uploads.put_part, uploadId, int(partNumber), data)
    return Response(status_code=200, headers={"ETag": etag})
