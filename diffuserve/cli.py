"""Command line: generate | models | serve | keys | mcp | db | worker. Errors print one line and exit non-zero.

Parsing and `--help` import no torch, pydantic or web stack: each command imports what it needs once it runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from diffuserve.cli_common import EXIT_USAGE, CliError, Parser
from diffuserve.cli_db import add_db_commands
from diffuserve.cli_generate import add_generate_command
from diffuserve.cli_keys import add_key_commands
from diffuserve.cli_models import add_models_command
from diffuserve.cli_serve import add_serve_commands
from diffuserve.cli_worker import add_worker_command
from diffuserve.errors import DiffuserveError, first_line
from diffuserve.mcp.cli import add_mcp_command

if TYPE_CHECKING:
    from diffuserve.cli_common import Subcommands

__all__ = ["EXIT_USAGE", "CliError", "build_parser", "main"]


def build_parser() -> Parser:
    parser = Parser(
        prog="diffuserve",
        description="Self-hosted image generation over diffusers: a Scenario-compatible REST API, MCP tools, a web "
        "page and this command line. `diffuserve COMMAND --help` describes each command.",
    )
    parser.add_argument(
        "--data-dir",
        help="data folder: database, assets, registry, demo models (default: $DIFFUSERVE_DATA_DIR or ./data)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub: Subcommands = parser.add_subparsers(  # type: ignore[assignment]
        dest="command", required=True, metavar="COMMAND"
    )
    add_generate_command(sub)
    add_models_command(sub)
    add_serve_commands(sub)
    add_key_commands(sub)
    add_mcp_command(sub)
    add_db_commands(sub)
    add_worker_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from diffuserve.engine.quiet import quiet_on_import

    quiet_on_import()  # torch-free: the engine, and diffusers with it, load only in the commands that run it
    # generate and models speak for themselves (progress, results); the service commands log as a server does.
    quiet = args.command in ("generate", "models")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        code: int = args.func(args)
        return code
    except (CliError, DiffuserveError) as exc:
        print(f"diffuserve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # pydantic validation of a registry entry, an enum value
        print(f"diffuserve: {first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
