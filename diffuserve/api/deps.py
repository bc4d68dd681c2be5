"""Dependencies: the service container and the caller's identity.

Credentials, checked against the stored keys: `Authorization: Basic base64(key:secret)` (Scenario clients), or
`Authorization: Bearer key:secret`, `API-Key: key:secret`, `X-API-Key: key:secret` (imagepipeline clients).
Open mode (Settings.open_mode) lets requests without credentials through, only from loopback clients, and
only when the server itself listens on loopback (checked at start). Signed content URLs need no credentials.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from diffuserve.service import keys
from diffuserve.service.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticate(request: Request, services: ServicesDep) -> keys.Caller:
    """The caller: its API key, project and role (the default project's admin in open mode); Unauthorized
    otherwise, 429 after too many failures. Async: a check waiting for its scrypt holds no request thread."""
    client = request.client.host if request.client else None
    return await keys.authenticate(services.keys, request.headers, client, open_mode=services.open_mode)


CallerDep = Annotated[keys.Caller, Depends(authenticate)]


def writer(caller: CallerDep) -> keys.Caller:
    """The caller of a route that writes: a read-only key is refused (403) before its body is even read."""
    caller.may_write()
    return caller


WriterDep = Annotated[keys.Caller, Depends(writer)]


def administrator(caller: CallerDep) -> keys.Caller:
    """The caller of a route that manages keys: only an admin key, refused (403) before its body is read."""
    caller.may_administer()
    return caller


AdminDep = Annotated[keys.Caller, Depends(administrator)]
