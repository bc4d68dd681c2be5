"""POST/GET /v1/uploads, PUT of a part at its signed URL, POST /v1/uploads/{uploadId}/action."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from diffuserve.api.deps import CallerDep, ServicesDep, WriterDep
from diffuserve.errors import NotFound
from diffuserve.service.request_schemas import UploadAction, UploadCreate
from diffuserve.service.signing import upload_part_path
from diffuserve.service.wire_types import DryRun

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])
DRY_RUN_DOC = "true (or api): check the body, answer HTTP 269, store nothing"


@router.post("", responses={269: {"description": "Dry run: {creativeUnitsCost}"}})
def create_upload(
    body: Annotated[UploadCreate, Body()],
    services: ServicesDep,
    caller: WriterDep,
    dryRun: Annotated[DryRun, Query(description=DRY_RUN_DOC)] = False,
) -> JSONResponse:
    """Declares a file and answers the upload with one signed PUT URL per part (`upload.parts`)."""
    status, content = services.uploads.create(body, caller=caller, dry_run=dryRun)
    return JSONResponse(content, status_code=status)


@router.get("/{uploadId}")
def get_upload(uploadId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.uploads.get(uploadId, caller=caller)


@router.post("/{uploadId}/action")
def upload_action(
    uploadId: str, body: Annotated[UploadAction, Body()], services: ServicesDep, caller: CallerDep
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
