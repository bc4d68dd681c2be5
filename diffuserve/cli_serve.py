"""`diffuserve serve`: the HTTP service front end."""

from __future__ import annotations

import argparse
import logging
import sys
import webbrowser

logger = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    from diffuserve.config import Settings  # pydantic-settings: once a command runs, not for --help

    settings = Settings.from_cli(
        args,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        open_mode=True if getattr(args, "open_mode", False) else None,
    )
    from diffuserve.cli_startup import bind_listeners, run_until_stopped, start_banner

    # The port first: taken, the command stops here, before anything starts or says "serving".
    sockets = bind_listeners(settings.host, settings.port)
    try:
        import uvicorn

        from diffuserve.app import create_app

        data_dir = settings.data_dir.resolve()
        print(f"diffuserve: starting on {settings.host}:{settings.port} with data folder {data_dir}", file=sys.stderr)
        app = create_app(settings)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=None
        )

        def started() -> None:
            print(start_banner(settings), file=sys.stderr, flush=True)
            if getattr(args, "browser", False):
                webbrowser.open(f"{settings.resolved_public_url}/")

        run_until_stopped(config, sockets, started)
    finally:
        for sock in sockets:
            sock.close()
    return 0


def add_serve_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `serve` to the main parser's subcommands."""
    keep = argparse.SUPPRESS  # do not overwrite the main parser's --data-dir when not given here
    p = sub.add_parser(
        "serve",
        help="run the HTTP service (REST API, imagepipeline API, MCP, web page, worker)",
        description="Serves until stopped (Ctrl+C). Stops at once with a one-line message when the port is taken "
        "or another process uses the data folder; once up, prints the URLs, the data folder, and whether API "
        "keys are required.",
    )
    p.add_argument("--host", default=keep, help="listen address (default: 127.0.0.1 or $DIFFUSERVE_HOST)")
    p.add_argument("--port", type=int, default=keep, help="listen port (default: 8000 or $DIFFUSERVE_PORT)")
    p.add_argument(
        "--data-dir",
        default=keep,
        help="data folder: database, assets, models (default: $DIFFUSERVE_DATA_DIR or ./data)",
    )
    p.add_argument("--browser", action="store_true", help="open the web page in a browser once serving")
    p.add_argument(
        "--open-mode",
        action="store_true",
        default=keep,
        help="serve without API keys, to loopback clients of a loopback host only (default: keys required)",
    )
    p.set_defaults(func=cmd_serve)
