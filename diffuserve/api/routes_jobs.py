"""GET /v1/jobs, GET /v1/jobs/{jobId}, POST /v1/jobs/{jobId}/action, and the signed preview images."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.errors import NotFound
from diffuserve.service.query_schemas import JobQuery
from diffuserve.service.request_schemas import JobAction
from diffuserve.service.response_schemas import JobList, JobResponse, documented
from diffuserve.service.signing import preview_path

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=None, responses=documented(JobList))
def list_jobs(query: Annotated[JobQuery, Query()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.jobs.list(query, caller=caller)


@router.get("/{jobId}", response_model=None, responses=documented(JobResponse))
def get_job(jobId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return services.jobs.get(jobId, caller=caller)


@router.post("/{jobId}/action", response_model=None, responses=documented(JobResponse))
def post_job_action(
    jobId: str, body: Annotated[JobAction, Body()], services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    return services.jobs.action(jobId, body, caller=caller)


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
