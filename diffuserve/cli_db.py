"""`diffuserve db upgrade`: creates or migrates the database to the schema this version needs."""

from __future__ import annotations

import argparse
import sys

from diffuserve.errors import first_line


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from diffuserve.config import Settings
    from diffuserve.storage.database import Database  # SQLAlchemy and Alembic load only for this command

    settings = Settings.from_cli(args)
    db = Database(settings.resolved_database_url)
    try:
        done = db.upgrade()
    except OperationalError as exc:
        print(f"diffuserve: cannot open {db.display_url}: {first_line(exc.orig or exc)}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"{db.display_url}: {done.describe()}")
    return 0


def add_db_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `db` and its subcommands to the main parser's subcommands."""
    keep = argparse.SUPPRESS  # do not overwrite the main parser's --data-dir when not given here
    p = sub.add_parser("db", help="manage the database (schema migrations)")
    dsub = p.add_subparsers(dest="db_command", required=True)
    u = dsub.add_parser(
        "upgrade",
        help="create the schema, or migrate it to the newest revision (DIFFUSERVE_DATABASE_URL, or SQLite in "
        "the data folder)",
    )
    u.add_argument("--data-dir", default=keep, help="data folder (default: $DIFFUSERVE_DATA_DIR or ./data)")
    u.set_defaults(func=cmd_db_upgrade)
