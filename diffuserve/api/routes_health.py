"""/healthz (the process answers), /readyz (database, Redis, blob store and, embedded, the worker are reachable)
and /metrics (Prometheus); no credentials, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: every service this process needs is reachable")
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, bool] = request.app.state.container.readiness()
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    body: bytes = request.app.state.metrics.text()
    return Response(body, media_type="text/plain; version=0.0.4")
