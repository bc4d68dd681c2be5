"""Dependencies: the service container and the caller's identity.

Credentials, checked against the stored keys: `Authorization: Basic base64(key:secret)` (Scenario clients), or
`Authorization: Bearer key:secret`, `API-Key: key:secret`, `X-API-Key: key:secret` (imagepipeline clients).
Open mode (Settings.open_mode) lets requests without credentials through, only from loopback clients, and
only when the server itself listens on loopback (checked at start). Signed content URLs need no credentials.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from diffuserve.errors import Unauthorized
from diffuserve.service.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    raw: str | None = None
    if scheme.lower() == "basic" and value:
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(
                "the Basic credentials are not base64 of key:secret", reason="invalid_credentials"
            ) from None
    elif scheme.lower() == "bearer" and value:
        raw = value.strip()
    else:
        raw = request.headers.get("api-key") or request.headers.get("x-api-key")
    if not raw:
        return None
    key, sep, secret = raw.partition(":")
    if not sep or not key or not secret:
        raise Unauthorized("credentials must be key:secret", reason="invalid_credentials")
    return key, secret


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authenticate(request: Request, services: ServicesDep) -> str:
    """The author id of the caller (the API key id, or "local" in open mode); Unauthorized otherwise."""
    creds = _credentials(request)
    if creds is None:
        if services.open_mode and _is_loopback(request.client.host if request.client else None):
            return "local"
        raise Unauthorized(
            "missing credentials: send Authorization: Basic base64(key:secret) (diffuserve keys create)",
            reason="missing_credentials",
        )
    return services.keys.verify(*creds)


AuthorDep = Annotated[str, Depends(authenticate)]
