"""What a tool call knows: the services, the transport, the caller, progress reporting and local files."""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context

from diffuserve.errors import InvalidRequest, NotFound
from diffuserve.service.images import MAX_INLINE_BYTES
from diffuserve.service.keys import LOCAL_CALLER, Caller, Role
from diffuserve.service.services import Services
from diffuserve.storage.records import JobStatus

if TYPE_CHECKING:
    from diffuserve.mcp.local_outputs import LocalOutputs

logger = logging.getLogger(__name__)

Transport = Literal["stdio", "http"]
TERMINAL = frozenset(s.value for s in JobStatus if s.is_terminal)
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
# Characters a path usually has and base64 never does: tells "/tmp/a.png" from "/9j/4AAQ..." (a JPEG).
_PATH_MARKS = frozenset(".-_ ~:\\")
_MAX_PATH = 4096
# Over stdio the worker lives in this process, which the client ends when it closes the connection.
STDIO_RUNNING = (
    "It keeps running inside this diffuserve mcp process for as long as this connection lasts. If the client "
    "closes the connection first, the process ends and the job stays queued in the data folder: it runs again "
    "from the start (same seed, same images) the next time diffuserve starts on that folder."
)


@dataclass(frozen=True)
class McpContext:
    """The MCP server's lifespan context: one per server, shared by every session. `outputs`: stdio only."""

    services: Services
    transport: Transport
    outputs: LocalOutputs | None = None


def looks_like_path(value: str) -> bool:
    """A local file reference rather than a data URL, an asset id or base64."""
    text = value.strip()
    if text.startswith(("data:", "asset_")) or len(text) > _MAX_PATH:
        return False
    if text.startswith(("file:", "~", "./", "../")) or _WINDOWS_DRIVE.match(text):
        return True
    return any(c in _PATH_MARKS for c in text)


def _local_path(value: str) -> Path:
    text = value.strip()
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    return Path(text).expanduser()


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte: not a file we can read
        return False


def read_local_file(value: str, *, field_name: str) -> tuple[Path, bytes]:
    """The bytes of a local image file (stdio only); NotFound / InvalidRequest worded like the service's."""
    path = _local_path(value)
    if not _is_file(path):
        raise NotFound(
            f"{field_name}: file {str(path)!r} does not exist (give an absolute path, a data URL or an asset id)",
            reason="file_not_found",
        )
    if path.stat().st_size > MAX_INLINE_BYTES:
        raise InvalidRequest(
            f"{field_name}: file {path.name!r} is larger than {MAX_INLINE_BYTES} bytes",
            field=field_name,
            reason="too_large",
        )
    return path, path.read_bytes()


def file_as_data_url(value: str, *, field_name: str) -> str:
    path, data = read_local_file(value, field_name=field_name)
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def refuse_local_path(field_name: str) -> InvalidRequest:
    return InvalidRequest(
        f"{field_name} looks like a local file path; over HTTP the server cannot read your files. Send the "
        "image as a data URL (data:image/png;base64,...) or upload it with post-asset and pass the asset id",
        field=field_name,
        reason="local_path_not_allowed",
    )


@dataclass
class Progress:
    """Reports a job's progress as MCP progress notifications, always increasing as the protocol requires."""

    ctx: Context[McpContext, Any]
    last: float = field(default=-1.0)

    async def __call__(self, progress: float, status: str) -> None:
        """One job's progress (0-1) and status, as JobService.wait reports it."""
        await self.report(progress, f"{status} {round(100 * progress)}%", done=status in TERMINAL)

    async def report(self, fraction: float, message: str, *, done: bool) -> None:
        """`fraction` (0-1) of the work done, with a message; `done` sends 100 once."""
        if done and self.last >= 100.0:
            return
        value = 100.0 if done else min(99.0, 99.0 * max(0.0, fraction))
        # A status change at the same progress still moves forward.
        value = round(max(value, self.last + 0.01), 3)
        self.last = value
        try:
            await self.ctx.report_progress(value, 100.0, message)
        except Exception:  # the client left; the job goes on regardless
            logger.debug("progress notification not delivered message=%s", message, exc_info=True)


def caller_token(caller: Caller) -> AccessToken:
    """The authenticated key as the SDK's access token of an HTTP session: project and role as scopes."""
    scopes = [f"project:{caller.project_id}", f"role:{caller.role.value}"]
    return AccessToken(token="api-key", client_id=caller.key_id, scopes=scopes)


def caller_of(token: AccessToken) -> Caller:
    scopes = dict(scope.split(":", 1) for scope in token.scopes if ":" in scope)
    return Caller(key_id=token.client_id, project_id=scopes["project"], role=Role(scopes["role"]))


@dataclass(frozen=True)
class ToolCall:
    """One tool call: the services, how the client is connected, who it is, its progress channel, and (stdio)
    the outputs folder where the images it returns are written."""

    services: Services
    transport: Transport
    caller: Caller
    progress: Progress
    outputs: LocalOutputs | None = None

    @classmethod
    def of(cls, ctx: Context[McpContext, Any]) -> ToolCall:
        state = ctx.request_context.lifespan_context
        request = ctx.request_context.request
        user = getattr(request, "scope", {}).get("user") if request is not None else None
        # HTTP sessions carry the key's caller (mcp/http.py); stdio is the local operator.
        caller = caller_of(user.access_token) if isinstance(user, AuthenticatedUser) else LOCAL_CALLER
        return cls(
            services=state.services,
            transport=state.transport,
            caller=caller,
            progress=Progress(ctx),
            outputs=state.outputs,
        )

    async def local_files(self, asset_ids: list[str]) -> list[dict[str, Any]] | None:
        """Over stdio: each asset as a file in the outputs folder ({asset_id, path, file_url}); None over HTTP."""
        if self.outputs is None or not asset_ids:
            return None
        outputs = self.outputs
        return await asyncio.to_thread(outputs.files, asset_ids)

    def still_running_note(self) -> str:
        """What really happens to a job the call stopped waiting for."""
        if self.transport == "stdio":
            return STDIO_RUNNING
        return "It keeps running on the server."

    def image_input(self, value: str, *, field_name: str) -> str:
        """A generate tool's image argument as the service takes it: local files (stdio) become data URLs.

        Inline data rather than a stored asset, so nothing is stored before the whole request is valid."""
        if value.strip().startswith(("data:", "asset_")):
            return value
        if self.transport == "stdio":
            return file_as_data_url(value, field_name=field_name)
        if looks_like_path(value):
            raise refuse_local_path(field_name)
        return value

    def image_inputs(self, body: dict[str, Any]) -> dict[str, Any]:
        out = dict(body)
        for name in ("image", "mask", "ipAdapterImage"):
            if isinstance(out.get(name), str):
                out[name] = self.image_input(out[name], field_name=name)
        if isinstance(out.get("ipAdapterImages"), list):
            out["ipAdapterImages"] = [
                self.image_input(v, field_name=f"ipAdapterImages[{i}]") for i, v in enumerate(out["ipAdapterImages"])
            ]
        return out

    def upload_image(self, value: str) -> tuple[str, Path | None]:
        """post-asset's `image`: a local file (stdio) as base64 plus its path; anything else unchanged."""
        text = value.strip()
        if text.startswith("data:"):
            return value, None
        if self.transport == "stdio":
            if looks_like_path(text) or (len(text) <= _MAX_PATH and _is_file(_local_path(text))):
                path, data = read_local_file(text, field_name="image")
                return base64.b64encode(data).decode(), path
            return value, None
        if looks_like_path(text):
            raise refuse_local_path("image")
        return value, None
