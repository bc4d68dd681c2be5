"""`diffuserve serve`: the HTTP service front end."""

from __future__ import annotations

import argparse
import logging
import sys
import webbrowser

from diffuserve.config import Settings

logger = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from diffuserve.app import create_app

    settings = Settings.from_cli(
        args,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        open_mode=True if getattr(args, "open_mode", False) else None,
    )
    app = create_app(settings)
    url = settings.resolved_public_url
    print(f"diffuserve serving on http://{settings.host}:{settings.port} (docs: {url}/docs)", file=sys.stderr)
    if getattr(args, "browser", False):
        webbrowser.open(f"{url}/")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=None)
    return 0


def add_serve_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `serve` to the main parser's subcommands."""
    keep = argparse.SUPPRESS  # do not overwrite the main parser's --data-dir when not given here
    p = sub.add_parser("serve", help="run the HTTP service (REST API, imagepipeline API, worker)")
    p.add_argument("--host", default=keep, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=keep, help="listen port (default 8000)")
    p.add_argument("--data-dir", default=keep, help="data folder (database, assets, models)")
    p.add_argument("--browser", action="store_true", help="open the web page in a browser once serving")
    p.add_argument(
        "--open-mode",
        action="store_true",
        default=keep,
        help="serve without API keys (loopback host and clients only)",
    )
    p.set_defaults(func=cmd_serve)
