"""The MCP server: the selected toolsets over the service layer, for one transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool

from diffuserve import __version__
from diffuserve.mcp.context import McpContext, Transport
from diffuserve.mcp.local_outputs import LocalOutputs
from diffuserve.mcp.task_tools import task_tools
from diffuserve.mcp.tools import build_tools
from diffuserve.mcp.toolsets import DEFAULT, SCENARIO_API
from diffuserve.service.services import Services

_ABOUT = "diffuserve runs Stable Diffusion models on this server's GPU."
_TASK_INSTRUCTIONS = (
    " Loop: search (target=models) for a model id; model_schema_get for its parameters; model_run; if it "
    "answers in_progress, jobs_wait with the job ids, again with pending_job_ids until none is left (never "
    "model_run twice for one job); asset_display to show results, asset_download for files. Input images: "
    "upload_asset, then pass the asset_id in parameters. One scope here: team_id and project_id are ignored."
)
_API_INSTRUCTIONS = (
    " Scenario REST tools: get-models to pick a model whose capabilities include the mode; a "
    "post-<mode>-inferences tool, which waits for the job and returns image previews plus full-size URLs; if it "
    "answers with a job still running, get-job-id (never re-run the generate tool, that makes a second job). "
    "Images go in as data URLs or asset ids (post-asset uploads one)."
)
_STDIO_NOTE = (
    " Over this stdio connection images may also be absolute local file paths, and the images results mention are "
    "local files (files[].path, file:// URLs) in the outputs folder."
)
_HTTP_NOTE = " Local file paths are not readable over HTTP."

ServicesSource = Services | Callable[[], Services]


def instructions(toolsets: frozenset[str], transport: Transport) -> str:
    text = _ABOUT
    if DEFAULT in toolsets:
        text += _TASK_INSTRUCTIONS
    if SCENARIO_API in toolsets:
        text += _API_INSTRUCTIONS
    return text + (_STDIO_NOTE if transport == "stdio" else _HTTP_NOTE)


def tools_for(toolsets: Iterable[str], transport: Transport) -> list[Tool]:
    """The tools of the selected toolsets: the task-level ones first."""
    selected = set(toolsets)
    tools: list[Tool] = []
    if DEFAULT in selected:
        tools += task_tools(transport)
    if SCENARIO_API in selected:
        tools += build_tools()
    return tools


def build_server(
    services: ServicesSource,
    transport: Transport,
    toolsets: frozenset[str] = frozenset({DEFAULT}),
    *,
    outputs_dir: Path | None = None,
) -> MCPServer[McpContext]:
    """`services` may be a callable when they are built later (HTTP: by the app's lifespan); `toolsets` as
    `toolsets.parse_toolsets` returns them; `outputs_dir` (stdio): where the images results mention are written."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[McpContext]) -> AsyncIterator[McpContext]:
        resolved = services if isinstance(services, Services) else services()
        outputs = LocalOutputs(resolved, outputs_dir) if transport == "stdio" and outputs_dir is not None else None
        yield McpContext(services=resolved, transport=transport, outputs=outputs)

    return MCPServer(
        "diffuserve",
        title="diffuserve image generation",
        version=__version__,
        instructions=instructions(toolsets, transport),
        tools=tools_for(toolsets, transport),
        lifespan=lifespan,
    )
