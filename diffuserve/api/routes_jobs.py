"""GET /v1/jobs, GET /v1/jobs/{jobId}, POST /v1/jobs/{jobId}/action, and the signed preview images."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.api.schemas import JobAction, body_schema
from diffuserve.errors import InvalidRequest, NotFound
from diffuserve.service.response_schemas import JobList, JobResponse, documented
from diffuserve.service.signing import preview_path

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=None, responses=documented(JobList))
def list_jobs(
    services: ServicesDep,
    caller: CallerDep,
    status: str | None = None,
    type: str | None = None,
    types: Annotated[list[str] | None, Query()] = None,
    pageSize: str | None = None,
    paginationToken: str | None = None,
    hideResults: str | None = None,
    authorId: str | None = None,
) -> dict[str, Any]:
    return services.jobs.list(
        status=status,
        type=type,
        types=",".join(types) if types else None,
        page_size=pageSize,
        pagination_token=paginationToken,
        hide_results=hideResults,
        author_id=authorId,
        caller=caller,
    )


@router.get("/{jobId}", response_model=None, responses=documented(JobResponse))
def get_job(jobId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.jobs.get(jobId, caller=caller)


@router.post(
    "/{jobId}/action", openapi_extra=body_schema(JobAction), response_model=None, responses=documented(JobResponse)
)
def post_job_action(
    jobId: str, body: Annotated[dict[str, Any], Body()], services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    action = body.get("action")
    if action != "cancel":
        raise InvalidRequest(f"action must be 'cancel', got {action!r}", field="action")
    return services.jobs.cancel(jobId, caller=caller)


@router.get("/{jobId}/previews/{index}", include_in_schema=False)
def get_preview(jobId: str, index: int, request: Request, services: ServicesDep) -> Response:
    """Signed URL, no credentials: the latest intermediate image `index` of a running job."""
    q = request.query_params
    if not services.signer.verify(preview_path(jobId, index), q.get("expires"), q.get("sig")):
        raise NotFound("this URL is not valid or has expired", reason="invalid_signature")
    return Response(
        services.jobs.preview_bytes(jobId, index),
        media_type="image/png",
        headers={"Cache-Control": "no-store"},
    )
