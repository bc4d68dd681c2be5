"""GET/POST /v1/keys, DELETE /v1/keys/{keyId}, GET/POST /v1/projects: an admin key manages its project's keys;
the default project's admins (the instance's operators) also create projects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from diffuserve.api.deps import CallerDep, ServicesDep
from diffuserve.api.schemas import KeyCreate, ProjectCreate, body_schema
from diffuserve.errors import Forbidden, InvalidRequest
from diffuserve.service.keys import Caller, key_wire
from diffuserve.storage.records import DEFAULT_PROJECT_ID, ProjectRecord

router = APIRouter(tags=["keys"])


def _project_wire(project: ProjectRecord) -> dict[str, Any]:
    return {"id": project.id, "name": project.name}


def _operator(caller: Caller) -> None:
    caller.may_administer()
    if caller.project_id != DEFAULT_PROJECT_ID:
        raise Forbidden("creating projects needs an admin key of the default project", reason="not_operator")


@router.get("/v1/keys")
def list_keys(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    caller.may_administer()
    return {"keys": [key_wire(k) for k in services.keys.list(project_id=caller.project_id)]}


@router.post("/v1/keys", openapi_extra=body_schema(KeyCreate))
def create_key(body: Annotated[dict[str, Any], Body()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    caller.may_administer()
    role, name = body.get("role", "member"), body.get("name")
    if not isinstance(role, str) or (name is not None and not isinstance(name, str)):
        raise InvalidRequest("role and name must be strings", field="role" if not isinstance(role, str) else "name")
    key = services.keys.create(project=caller.project_id, role=role, name=name)
    return {"key": key_wire(services.keys.get(key.key)), "secret": key.secret}


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


@router.post("/v1/projects", openapi_extra=body_schema(ProjectCreate))
def create_project(body: Annotated[dict[str, Any], Body()], services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    _operator(caller)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("name is required (the project's name)", field="name", reason="missing_field")
    return {"project": _project_wire(services.keys.create_project(name))}
