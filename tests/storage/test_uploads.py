"""Uploads in the database, on SQLite and PostgreSQL: revision 0003 up and down, the record's lifecycle, and parts
sent at the same time all recorded."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from diffuserve.errors import Conflict, InvalidRequest, NotFound
from diffuserve.storage import migrate
from diffuserve.storage.database import Database, driver_url
from diffuserve.storage.timeutil import utcnow
from diffuserve.storage.upload_repository import UploadRecord, UploadRepository, UploadStatus
from tests.storage.databases import BACKENDS, database_url, upgraded_database


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with upgraded_database(request.param, request, tmp_path) as db:
        yield db


def _upload(upload_id: str = "upload_1", *, size: int = 10, parts: int = 3, expires_in_s: int = 3600) -> UploadRecord:
    now = utcnow().replace(microsecond=0)
    return UploadRecord(
        id=upload_id,
        status=UploadStatus.PENDING,
        kind="image",
        file_name="cat.png",
        content_type="image/png",
        file_size=size,
        parts_count=parts,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=expires_in_s),
        author_id="key_1",
        owner_id="proj_1",
        asset_options={"hide": True},
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_revision_0003_adds_the_uploads_table_and_downgrade_removes_it(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with database_url(backend, request, tmp_path) as url:
        engine: Engine = create_engine(driver_url(url))
        try:
            migrate.upgrade(engine, revision="0002")
            assert "uploads" not in inspect(engine).get_table_names()
            assert migrate.upgrade(engine, revision="0003").after == "0003"
            assert [i["name"] for i in inspect(engine).get_indexes("uploads")] == ["ix_uploads_expiry"]
            with engine.begin() as connection:
                config = Config()
                config.set_main_option("script_location", str(migrate.MIGRATIONS))
                config.attributes["connection"] = connection
                command.downgrade(config, "0002")
            assert "uploads" not in inspect(engine).get_table_names()
            assert migrate.upgrade(engine, revision="0003").after == "0003"
        finally:
            engine.dispose()


def test_an_upload_is_stored_and_read_back(db: Database) -> None:
    uploads = UploadRepository(db)
    stored = uploads.insert(_upload())
    assert uploads.get("upload_1") == stored
    with pytest.raises(NotFound):
        uploads.get("upload_nope")


def test_parts_are_recorded_replaced_and_refused_past_the_declared_size(db: Database) -> None:
    uploads = UploadRepository(db)
    uploads.insert(_upload(size=10))
    uploads.record_part("upload_1", 1, 4)
    uploads.record_part("upload_1", 3, 2)
    assert uploads.record_part("upload_1", 1, 3).parts_received == {1: 3, 3: 2}
    with pytest.raises(InvalidRequest) as refused:
        uploads.record_part("upload_1", 2, 6)
    assert refused.value.reason == "upload_too_large"
    record = uploads.get("upload_1")
    assert record.parts_received == {1: 3, 3: 2} and record.missing_parts() == [2] and record.bytes_received == 5


def test_one_completion_claims_the_upload_and_finishing_moves_it_on(db: Database) -> None:
    uploads = UploadRepository(db)
    uploads.insert(_upload())
    assert uploads.claim("upload_1") and not uploads.claim("upload_1")
    with pytest.raises(Conflict):
        uploads.record_part("upload_1", 1, 1)
    with pytest.raises(Conflict):
        uploads.finish("upload_1", UploadStatus.FAILED, expected=UploadStatus.PENDING)
    done = uploads.finish("upload_1", UploadStatus.IMPORTED, asset_id="asset_1", expected=UploadStatus.VALIDATING)
    assert (done.status, done.asset_id) == (UploadStatus.IMPORTED, "asset_1")
    assert uploads.get("upload_1") == done


def test_pending_uploads_past_their_deadline_fail(db: Database) -> None:
    uploads = UploadRepository(db)
    uploads.insert(_upload("upload_old", expires_in_s=-60))
    uploads.insert(_upload("upload_new"))
    uploads.insert(_upload("upload_done", expires_in_s=-60))
    uploads.claim("upload_done")
    expired = uploads.fail_expired(utcnow(), limit=10, error="expired")
    assert [u.id for u in expired] == ["upload_old"]
    assert (uploads.get("upload_old").status, uploads.get("upload_old").error) == (UploadStatus.FAILED, "expired")
    assert uploads.get("upload_new").status is UploadStatus.PENDING
    assert uploads.fail_expired(utcnow(), limit=10, error="expired") == []


def test_parts_sent_at_the_same_time_are_all_recorded(db: Database) -> None:
    uploads = UploadRepository(db)
    uploads.insert(_upload(size=64, parts=16))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: uploads.record_part("upload_1", n, 4), range(1, 17)))
    assert uploads.get("upload_1").parts_received == {n: 4 for n in range(1, 17)}
