"""GET/POST /v1/keys, DELETE /v1/keys/{keyId}, GET/POST /v1/projects: an admin key manages its project's keys;
the default project's admins (the instance's operators) also create projects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from diffuserve.api.deps import AdminDep, CallerDep, ServicesDep
from diffuserve.errors import Forbidden
from diffuserve.service.keys import Caller, key_wire
from diffuserve.service.request_schemas import KeyCreate, ProjectCreate
from diffuserve.service.wire_fields import field_warnings
from diffuserve.storage.records import DEFAULT_PROJECT_ID, ProjectRecord

router = APIRouter(tags=["keys"])


def _project_wire(project: ProjectRecord) -> dict[str, Any]:
    return {"id": project.id, "name": project.name}


def _operator(caller: AdminDep) -> Caller:
    """An admin key of the default project (the instance's operators), refused before the body is read."""
    if caller.project_id != DEFAULT_PROJECT_ID:
        raise Forbidden("creating projects needs an admin key of the default project", reason="not_operator")
    return caller


@router.get("/v1/keys")
def list_keys(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    caller.may_administer()
    return {"keys": [key_wire(k) for k in services.keys.list(project_id=caller.project_id)]}


@router.post("/v1/keys")
def create_key(body: Annotated[KeyCreate, Body()], services: ServicesDep, caller: AdminDep) -> dict[str, Any]:
    warnings = field_warnings(body, "a key", strict=services.strict_fields)
    key = services.keys.create(project=caller.project_id, role=body.role, name=body.name)
    return {"key": key_wire(services.keys.get(key.key)), "secret": key.secret, **warnings}


@router.delete("/v1/keys/{keyId}")
def revoke_key(keyId: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    caller.may_administer()
    return {"key": key_wire(services.keys.revoke(keyId, project_id=caller.project_id))}


@router.get("/v1/projects")
def list_projects(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """The caller's project; the operators see every project."""
    if caller.project_id == DEFAULT_PROJECT_ID and caller.role.value == "admin":
        return {"projects": [_project_wire(p) for p in services.keys.projects()]}
    return {"projects": [_project_wire(services.keys.project(caller.project_id))]}


@router.post("/v1/projects")
def create_project(body: Annotated[ProjectCreate, Body()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    _operator(caller)
    warnings = field_warnings(body, "a project", strict=services.strict_fields)
    return {"project": _project_wire(services.keys.create_project(body.name)), **warnings}
