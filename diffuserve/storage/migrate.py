"""Alembic run from code: brings any database (new, made before migrations existed, or older) to a revision."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# The schema `create_all` made before migrations existed; such a database is stamped here first.
BASELINE = "0001"
# pg_advisory_xact_lock key: processes starting together upgrade one after the other ("diffuser" in ASCII).
_LOCK_KEY = 0x6469666675736572


class _QuietContext(logging.Filter):
    """Drops Alembic's per-context notices ("Context impl ...", "Will assume ... DDL"), logged several times
    per start and misleading here (the whole upgrade is one transaction); "Running upgrade" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))


_QUIET = _QuietContext()


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade found and did: revisions before and after, and whether pre-Alembic tables were stamped."""

    before: str | None
    after: str | None
    stamped: bool = False

    def describe(self) -> str:
        if self.before is None and not self.stamped:
            return f"created the schema at revision {self.after}"
        found = f"found tables made before migrations, stamped {BASELINE}; " if self.stamped else ""
        if self.before == self.after:
            return f"{found}already at revision {self.after}"
        return f"{found}upgraded {self.before} -> {self.after}"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head() -> str | None:
    """The newest revision the package ships."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, *, revision: str = "head") -> Upgrade:
    """Upgrades in one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: under an advisory lock), so a
    failed step leaves the database as it was and concurrent starts do not race."""
    alembic_log = logging.getLogger("alembic.runtime.migration")
    if _QUIET not in alembic_log.filters:
        alembic_log.addFilter(_QUIET)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current(connection)
        if before is not None and before == (head() if revision == "head" else revision):
            return Upgrade(before=before, after=before)
        config = _config(connection)
        stamped = before is None and inspect(connection).has_table("jobs")
        if stamped:
            command.stamp(config, BASELINE)
            before = BASELINE
        command.upgrade(config, revision)
        return Upgrade(before=before, after=current(connection), stamped=stamped)
