"""Alembic migrations on SQLite and PostgreSQL: a new database, one made before migrations existed, revision 0001
against the old `create_all` schema, concurrent starts, and `diffuserve db upgrade`."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from diffuserve.cli import main
from diffuserve.storage import migrate
from diffuserve.storage.database import Database, driver_url
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.key_repository import KeyRepository
from diffuserve.storage.records import DEFAULT_PROJECT_ID, ApiKeyRecord, JobStatus
from diffuserve.storage.tables import Base
from diffuserve.storage.timeutil import utcnow
from tests.storage.databases import BACKENDS, database_url

# What revisions 0002-0005 added to the schema `create_all` made before migrations existed.
NEW_COLUMNS = {
    "jobs": ("lease_owner", "lease_expires_at", "cancel_requested"),
    "assets": ("pending",),
    "api_keys": ("project_id", "role", "name"),
}
NEW_INDEXES = ("ix_jobs_queue", "ix_jobs_owner_id", "ix_assets_owner_id", "ix_api_keys_project_id", "ix_assets_pending")
NEW_TABLES = ("uploads", "projects")


def _drop_later_revisions(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in NEW_TABLES:
            connection.execute(text(f"DROP TABLE {table}"))
        for index in NEW_INDEXES:
            connection.execute(text(f"DROP INDEX {index}"))
        for table, columns in NEW_COLUMNS.items():
            for column in columns:
                connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture()
def engine(url: str) -> Iterator[Engine]:
    engine = create_engine(driver_url(url))
    yield engine
    engine.dispose()


def _differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match the tables in code (nothing, when in step)."""
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns (name, type, nullable), primary keys and indexes, as the database reports them."""
    found = inspect(engine)
    return {
        table: {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
            "primary_key": found.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table)
            ),
        }
        for table in sorted(found.get_table_names())
        if table != "alembic_version"
    }


def _make_pre_alembic(engine: Engine) -> None:
    """A database as diffuserve made it before migrations: `create_all`, without what revisions 0002-0004 add."""
    Base.metadata.create_all(engine)
    _drop_later_revisions(engine)


def test_a_new_database_is_created_at_head_matching_the_tables_in_code(url: str, engine: Engine) -> None:
    db = Database(url)
    done = db.upgrade()
    assert (done.before, done.after, done.stamped) == (None, migrate.head(), False)
    assert done.describe() == f"created the schema at revision {migrate.head()}"
    tables = {"jobs", "assets", "api_keys", "uploads", "projects", "alembic_version"}
    assert set(inspect(engine).get_table_names()) == tables
    for table in Base.metadata.sorted_tables:
        assert [c["name"] for c in inspect(engine).get_columns(table.name)] == [c.name for c in table.columns]
    assert _differences(engine) == []
    again = db.upgrade()
    assert again.describe() == f"already at revision {migrate.head()}"
    db.close()


def test_revision_0001_is_the_schema_create_all_made(url: str, engine: Engine, tmp_path: Path) -> None:
    migrate.upgrade(engine, revision=migrate.BASELINE)
    if engine.dialect.name == "sqlite":
        legacy = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
        _make_pre_alembic(legacy)
        assert _schema(engine) == _schema(legacy)
        legacy.dispose()
    else:  # one database per test: the legacy schema goes in a schema of its own on the same server
        with engine.begin() as connection:
            connection.execute(text("CREATE SCHEMA legacy"))
        legacy = create_engine(driver_url(url), connect_args={"options": "-c search_path=legacy"})
        _make_pre_alembic(legacy)
        assert _schema(engine) == _schema(legacy)
        legacy.dispose()


def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_its_rows(url: str, engine: Engine) -> None:
    Base.metadata.create_all(engine)
    db = Database(url)
    jobs, keys = JobRepository(db), KeyRepository(db)
    queued = jobs.insert(
        job_id="job_1", mode="txt2img", input={"p": 1}, author_id="a", owner_id="o", hide_results=False
    )
    jobs.insert(job_id="job_2", mode="txt2img", input={}, author_id="a", owner_id="o", hide_results=False)
    done = jobs.transition("job_2", JobStatus.SUCCESS, progress=1.0, asset_ids=["asset_1"])
    keys.insert(ApiKeyRecord(key_id="key_1", salt=b"s", secret_hash=b"h", created_at=utcnow()))
    db.close()
    _drop_later_revisions(engine)  # back to the old schema, rows kept
    assert "alembic_version" not in inspect(engine).get_table_names()

    db = Database(url)
    upgraded = db.upgrade()
    assert (upgraded.before, upgraded.after, upgraded.stamped) == (migrate.BASELINE, migrate.head(), True)
    assert (
        upgraded.describe() == f"found tables made before migrations, stamped 0001; upgraded 0001 -> {migrate.head()}"
    )
    assert _differences(engine) == []
    jobs = JobRepository(db)
    assert jobs.get("job_1") == queued and jobs.get("job_2") == done
    old_key = KeyRepository(db).get("key_1")
    # Keys made before projects are admins of the default project, which owns everything stored before.
    assert old_key is not None and (old_key.project_id, old_key.role) == (DEFAULT_PROJECT_ID, "admin")
    assert KeyRepository(db).project(id=DEFAULT_PROJECT_ID) is not None
    assert [j.id for j in jobs.claim(job_ids=["job_1", "job_2"], owner="w", lease_s=30)] == ["job_1"]
    db.close()


def test_processes_starting_together_upgrade_one_after_the_other(url: str) -> None:
    dbs = [Database(url) for _ in range(3)]
    start = threading.Barrier(len(dbs))

    def upgrade(db: Database) -> migrate.Upgrade:
        start.wait()
        return db.upgrade()

    with ThreadPoolExecutor(max_workers=len(dbs)) as pool:
        results = list(pool.map(upgrade, dbs))
    assert sorted(r.before or "" for r in results) == ["", migrate.head(), migrate.head()]
    assert {r.after for r in results} == {migrate.head()}
    for db in dbs:
        db.close()


def test_db_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "data"), "db", "upgrade"]) == 0
    database = (tmp_path / "data" / "diffuserve.db").resolve()
    assert capsys.readouterr().out == f"sqlite:///{database}: created the schema at revision {migrate.head()}\n"
    assert main(["db", "upgrade", "--data-dir", str(tmp_path / "data")]) == 0
    assert capsys.readouterr().out == f"sqlite:///{database}: already at revision {migrate.head()}\n"


def test_db_upgrade_command_on_postgresql(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tests.servers import fresh_database

    with fresh_database(postgres_url) as url:
        monkeypatch.setenv("DIFFUSERVE_DATABASE_URL", url.replace("postgresql://", "postgres://"))
        assert main(["--data-dir", str(tmp_path), "db", "upgrade"]) == 0
        shown = url.replace("postgresql://", "postgresql+psycopg://")
        assert capsys.readouterr().out == f"{shown}: created the schema at revision {migrate.head()}\n"


def test_db_upgrade_command_says_when_the_server_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DIFFUSERVE_DATABASE_URL", f"postgresql://u:secret@127.0.0.1:{port}/db")
    assert main(["--data-dir", str(tmp_path), "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"diffuserve: cannot open postgresql+psycopg://u:***@127.0.0.1:{port}/db: ")
    assert "secret" not in err
