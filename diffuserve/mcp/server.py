"""The MCP server: the tools over the service layer, for one transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

from diffuserve import __version__
from diffuserve.mcp.context import McpContext, Transport
from diffuserve.mcp.tools import build_tools
from diffuserve.service.services import Services

_INSTRUCTIONS = (
    "diffuserve runs Stable Diffusion models on this server's GPU. Typical flow: get-models to pick a model "
    "whose capabilities include the mode; a post-<mode>-inferences tool, which waits for the job and returns "
    "image previews plus full-size URLs; if it answers with a job still running, get-job-id (never re-run the "
    "generate tool, that makes a second job). Images go in as data URLs or asset ids (post-asset uploads one)"
)
_STDIO_NOTE = "; over this stdio connection also as absolute local file paths."
_HTTP_NOTE = "; local file paths are not readable over HTTP."

ServicesSource = Services | Callable[[], Services]


def build_server(services: ServicesSource, transport: Transport) -> MCPServer[McpContext]:
    """`services` may be a callable when they are built later (HTTP: by the app's lifespan)."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[McpContext]) -> AsyncIterator[McpContext]:
        resolved = services if isinstance(services, Services) else services()
        yield McpContext(services=resolved, transport=transport)

    return MCPServer(
        "diffuserve",
        title="diffuserve image generation",
        version=__version__,
        instructions=_INSTRUCTIONS + (_STDIO_NOTE if transport == "stdio" else _HTTP_NOTE),
        tools=build_tools(),
        lifespan=lifespan,
    )
