"""Streamable HTTP at /mcp: the REST API's API keys in front of the SDK's session manager.

Credentials are the REST API's (`Authorization: Basic base64(key:secret)`, or `Bearer key:secret`,
`API-Key`/`X-API-Key: key:secret`), checked by the same KeyService; a request without valid ones gets 401
with the REST error body. A session is bound to the key that opened it (the SDK refuses it to another key).

`?toolsets=a,b` picks the tools of the connection (toolsets.py; none named: DIFFUSERVE_MCP_TOOLSETS). Each
possible selection has its own MCP server and session manager, built up front; a request goes to the one its
query names, and an unknown toolset is a 400 with the REST error body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import parse_qs

from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from diffuserve.config import Settings
from diffuserve.errors import InvalidRequest, RateLimited, Unauthorized
from diffuserve.mcp.context import McpContext, caller_token
from diffuserve.mcp.server import build_server
from diffuserve.mcp.toolsets import SELECTIONS, parse_toolsets
from diffuserve.service import keys
from diffuserve.service.keys import Caller
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
    """An ASGI app: check the API key, pick the server of the requested toolsets, hand it the request."""

    def __init__(self, services: Callable[[], Services], settings: Settings) -> None:
        self._services = services
        self.default_toolsets = parse_toolsets(settings.mcp_toolsets)
        self.servers: dict[frozenset[str], MCPServer[McpContext]] = {}
        for selection in SELECTIONS:
            server = build_server(services, "http", selection)
            # Builds the session manager (the Starlette app it returns is not used: we route to the manager).
            server.streamable_http_app(
                streamable_http_path=MCP_PATH,
                max_request_body_size=MAX_BODY_BYTES,
                transport_security=transport_security(settings),
                host=settings.host,
            )
            self.servers[selection] = server

    @property
    def server(self) -> MCPServer[McpContext]:
        """The server of connections that name no toolset."""
        return self.servers[self.default_toolsets]

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Runs the session managers; enter it once the services exist (inside the app's lifespan)."""
        async with AsyncExitStack() as stack:
            for server in self.servers.values():
                await stack.enter_async_context(server.session_manager.run())
            yield

    async def _author(self, scope: Scope) -> Caller:
        services = self._services()
        client = scope.get("client")
        return await keys.authenticate(
            services.keys, Headers(scope=scope), client[0] if client else None, open_mode=services.open_mode
        )

    def _toolsets(self, scope: Scope) -> frozenset[str]:
        """The toolsets the query string names (`?toolsets=a,b`, or the parameter repeated)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        names = query.get("toolsets")
        if names is None:
            return self.default_toolsets
        return parse_toolsets(names, default=",".join(self.default_toolsets))

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
        except RateLimited as exc:
            retry = str(max(1, math.ceil(exc.retry_after_s)))
            limited = {"reason": exc.reason, "message": exc.message}
            await JSONResponse(limited, status_code=429, headers={"Retry-After": retry})(scope, receive, send)
            return
        try:
            selection = self._toolsets(scope)
        except InvalidRequest as exc:
            body = {"reason": exc.reason, "message": exc.message, "field": exc.field}
            await JSONResponse(body, status_code=400)(scope, receive, send)
            return
        user = AuthenticatedUser(caller_token(author))
        await self.servers[selection].session_manager.handle_request({**scope, "user": user}, receive, send)


def mount_mcp(app: FastAPI, settings: Settings, *, path: str = MCP_PATH) -> McpHttpEndpoint:
    """Serves MCP at `path`; the app's lifespan must run `endpoint.lifespan()` once its services exist."""

    def services() -> Services:
        found: Services = app.state.services
        return found

    endpoint = McpHttpEndpoint(services, settings)
    app.router.routes.append(Route(path, endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    return endpoint
