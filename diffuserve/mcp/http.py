"""Streamable HTTP at /mcp: the REST API's API keys in front of the SDK's session manager.

Credentials are the REST API's (`Authorization: Basic base64(key:secret)`, or `Bearer key:secret`,
`API-Key`/`X-API-Key: key:secret`), checked by the same KeyService; a request without valid ones gets 401
with the REST error body. A session is bound to the key that opened it (the SDK refuses it to another key).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from diffuserve.config import Settings
from diffuserve.errors import Unauthorized
from diffuserve.mcp.server import build_server
from diffuserve.service import keys
from diffuserve.service.services import Services

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
# Generate calls carry images inline (data URLs); the SDK's default cap is 4 MiB.
MAX_BODY_BYTES = 64 * 1024 * 1024


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection (Host/Origin checks) while the server listens on loopback, as the SDK does."""
    if not keys.is_loopback(settings.host):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = keys.loopback_hosts(settings.resolved_public_url)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[h for host in hosts for h in (host, f"{host}:*")],
        allowed_origins=[
            f"{scheme}://{host}{port}" for scheme in ("http", "https") for host in hosts for port in ("", ":*")
        ],
    )


class McpHttpEndpoint:
    """An ASGI app: check the API key, then hand the request to the MCP session manager."""

    def __init__(self, services: Callable[[], Services], settings: Settings) -> None:
        self._services = services
        self.server = build_server(services, "http")
        # Builds the session manager (the Starlette app it returns is not used: we route to the manager).
        self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            max_request_body_size=MAX_BODY_BYTES,
            transport_security=transport_security(settings),
            host=settings.host,
        )

    @property
    def session_manager(self) -> StreamableHTTPSessionManager:
        return self.server.session_manager

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        """Runs the session manager; enter it once the services exist (inside the app's lifespan)."""
        return self.session_manager.run()

    async def _author(self, scope: Scope) -> str:
        services = self._services()
        client = scope.get("client")
        return await asyncio.to_thread(
            keys.authenticate,
            services.keys,
            Headers(scope=scope),
            client[0] if client else None,
            open_mode=services.open_mode,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            author = await self._author(scope)
        except Unauthorized as exc:
            response = JSONResponse(
                {"reason": exc.reason, "message": exc.message},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="diffuserve"'},
            )
            await response(scope, receive, send)
            return
        user = AuthenticatedUser(AccessToken(token="api-key", client_id=author, scopes=[]))
        await self.session_manager.handle_request({**scope, "user": user}, receive, send)


def mount_mcp(app: FastAPI, settings: Settings, *, path: str = MCP_PATH) -> McpHttpEndpoint:
    """Serves MCP at `path`; the app's lifespan must run `endpoint.lifespan()` once its services exist."""

    def services() -> Services:
        found: Services = app.state.services
        return found

    endpoint = McpHttpEndpoint(services, settings)
    app.router.routes.append(Route(path, endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    return endpoint
