"""How `diffuserve serve` starts: the listening sockets bound first (a taken port stops it at once, with one
line), then the app, and a banner once it accepts requests: URLs, data folder, whether API keys are needed."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from diffuserve.cli_common import CliError

if TYPE_CHECKING:
    from diffuserve.config import Settings


def _bind(family: int, address: Any, host: str, port: int) -> socket.socket:
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections of a socket that says it is
    # TCP; without it, each answer written in two parts (headers, body) waits 40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # As uvicorn and asyncio do: a restarted server may reuse a port left in TIME_WAIT; a port that another
        # process listens on stays refused.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {port} on {host} is already in use (another diffuserve serve?); stop that process or pick "
                "another port with --port or DIFFUSERVE_PORT"
            ) from exc
        if exc.errno == errno.EACCES:
            raise CliError(f"port {port} on {host}: permission denied (ports below 1024 need privileges)") from exc
        if exc.errno == errno.EADDRNOTAVAIL:
            raise CliError(f"--host {host}: not an address of this machine") from exc
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def bind_listeners(host: str, port: int) -> list[socket.socket]:
    """Bound (not yet listening) sockets for every address of `host`, as uvicorn would bind them."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"--host {host}: cannot resolve it ({exc.strerror})") from exc
    sockets: list[socket.socket] = []
    unavailable: CliError | None = None
    try:
        for family, _, _, _, address in dict.fromkeys((i[0], i[1], i[2], i[3], i[4]) for i in infos):
            try:
                sockets.append(_bind(family, address, host, port))
            except CliError as exc:
                if not isinstance(exc.__cause__, OSError) or exc.__cause__.errno != errno.EADDRNOTAVAIL:
                    raise
                unavailable = exc  # as asyncio does: that address family is off here (IPv6 for `localhost`)
    except CliError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets and unavailable is not None:
        raise unavailable
    return sockets


def start_banner(settings: Settings) -> str:
    """What a user needs once the server is up: where, which data, and how to get in."""
    url = settings.resolved_public_url
    data_dir = settings.data_dir.resolve()
    lines = [
        f"diffuserve serving on http://{settings.host}:{settings.port}",
        f"  web page {url}/   API docs {url}/docs   MCP {url}/mcp",
        f"  data folder  {data_dir} (database, assets, models.yaml)",
    ]
    if settings.database_url:
        from sqlalchemy.engine import make_url

        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        lines.append(f"  database     {shown}")
    if settings.open_mode:
        lines.append("  API keys     not required: open mode, loopback clients only")
    else:
        lines.append(
            f"  API keys     required; create one with: diffuserve keys create --data-dir {data_dir}"
            if not settings.database_url
            else "  API keys     required; create one with: diffuserve keys create (same DIFFUSERVE_DATABASE_URL)"
        )
    return "\n".join(lines)


def run_until_stopped(config: Any, sockets: list[socket.socket], started: Callable[[], None]) -> None:
    """uvicorn on the bound sockets; `started` runs once the app's start-up is done and the sockets accept."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                started()

    Server(config).run(sockets=sockets)
