"""`diffuserve mcp`: the MCP tools over stdio for desktop clients, with the service and its worker in-process."""

from __future__ import annotations

import argparse
import logging

from diffuserve.mcp.toolsets import DEFAULT, FULL, SCENARIO_API, TOOLSETS, parse_toolsets

logger = logging.getLogger(__name__)


def cmd_mcp(args: argparse.Namespace) -> int:
    # Imported here: the web and torch stack is only needed once the command runs.
    from diffuserve.app import build_container
    from diffuserve.config import Settings
    from diffuserve.mcp.server import build_server

    settings = Settings.from_cli(
        args, mcp_toolsets=getattr(args, "toolsets", None), mcp_outputs_dir=getattr(args, "outputs_dir", None)
    )
    toolsets = parse_toolsets(settings.mcp_toolsets)  # an unknown name stops here, before anything starts
    container = build_container(settings)
    outputs = settings.resolved_mcp_outputs_dir
    try:
        logger.info(
            "mcp serving on stdio data_dir=%s outputs=%s toolsets=%s",
            settings.data_dir.resolve(),
            outputs.resolve(),
            ",".join(sorted(toolsets)),
        )
        # stdout carries the protocol only: the SDK points fd 1 at stderr while it serves.
        build_server(container.services, "stdio", toolsets, outputs_dir=outputs).run("stdio")
    finally:
        container.close()
    return 0


def add_mcp_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `mcp` to the main parser's subcommands (discovered by diffuserve.cli)."""
    p = sub.add_parser(
        "mcp",
        help="serve the MCP tools over stdio (for Claude Desktop, Cursor, ...); logs go to stderr",
        description="Speaks MCP on stdin/stdout and runs generations in this process, which ends when the client "
        "closes the connection (unfinished jobs stay queued and run when diffuserve next starts on the data "
        "folder). No HTTP server runs, so the images that results mention are files in the outputs folder. "
        "Settings come from DIFFUSERVE_* environment variables (e.g. DIFFUSERVE_DATA_DIR); the HTTP server mounts "
        "the same tools at /mcp.",
    )
    p.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="data folder: database, assets, models (default: $DIFFUSERVE_DATA_DIR or ./data)",
    )
    p.add_argument(
        "--toolsets",
        help=f"tools to offer, comma-separated: {', '.join(TOOLSETS)} (default: $DIFFUSERVE_MCP_TOOLSETS or "
        f"{DEFAULT}: Scenario's task-level tools; {SCENARIO_API}: the REST-shaped tools; {FULL}: both)",
    )
    p.add_argument(
        "--outputs-dir",
        metavar="FOLDER",
        help="where the images that results mention are written as files (default: $DIFFUSERVE_MCP_OUTPUTS_DIR "
        "or DATA_DIR/outputs)",
    )
    p.set_defaults(func=cmd_mcp)
