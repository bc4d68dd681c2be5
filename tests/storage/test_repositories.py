"""The database layer on a real SQLite file and a real PostgreSQL server: WAL mode (SQLite), job transitions,
crash recovery, asset listing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from diffuserve.errors import NotFound
from diffuserve.storage.asset_repository import AssetFilter, AssetRepository
from diffuserve.storage.asset_store import AssetStore, NewAsset
from diffuserve.storage.blobs import LocalBlobStore
from diffuserve.storage.database import Database
from diffuserve.storage.job_repository import MAX_RUNS, JobRepository
from diffuserve.storage.records import AssetRecord, JobStatus
from tests.service_helpers import picture, png
from tests.storage.databases import BACKENDS, upgraded_database


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with upgraded_database(request.param, request, tmp_path) as database:
        yield database


def _job(jobs: JobRepository, n: int = 0) -> str:
    record = jobs.insert(
        job_id=f"job_{n}",
        mode="txt2img",
        input={"modelId": "m", "prompt": "p"},
        author_id="a",
        owner_id="o",
        hide_results=False,
    )
    return record.id


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.upgrade()
    with db.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.close()


def test_transitions_are_recorded_and_guarded(db: Database) -> None:
    jobs = JobRepository(db)
    job_id = _job(jobs)
    assert jobs.transition(job_id, JobStatus.IN_PROGRESS, expect=[JobStatus.QUEUED]) is not None
    assert jobs.transition(job_id, JobStatus.IN_PROGRESS, progress=0.5) is not None
    assert jobs.transition(job_id, JobStatus.CANCELED, expect=[JobStatus.QUEUED]) is None
    done = jobs.transition(job_id, JobStatus.SUCCESS, progress=1.0, asset_ids=["asset_1"])
    assert done is not None
    assert [h.status for h in done.status_history] == [
        JobStatus.QUEUED,
        JobStatus.IN_PROGRESS,
        JobStatus.SUCCESS,
    ]
    assert done.asset_ids == ("asset_1",) and done.progress == 1.0
    with pytest.raises(NotFound):
        jobs.get("job_missing")


def test_fifo_and_crash_recovery_requeues_then_gives_up(db: Database) -> None:
    jobs = JobRepository(db)
    first, second = _job(jobs, 1), _job(jobs, 2)
    assert [j.id for j in jobs.queued(limit=10)] == [first, second]
    assert [j.id for j in jobs.queued(limit=1)] == [first]
    for run in range(MAX_RUNS):
        jobs.transition(first, JobStatus.IN_PROGRESS, expect=[JobStatus.QUEUED])
        requeued = jobs.requeue_interrupted()
        if run < MAX_RUNS - 1:
            assert requeued == [first] and jobs.get(first).status == JobStatus.QUEUED
    failed = jobs.get(first)
    assert failed.status == JobStatus.FAILURE and failed.error and "runs" in failed.error
    assert jobs.get(second).status == JobStatus.QUEUED


def test_asset_listing_leaves_out_hidden_and_deleted(db: Database, tmp_path: Path) -> None:
    store = AssetStore(AssetRepository(db), LocalBlobStore(tmp_path / "blobs"))
    parent = store.create(png(picture()), NewAsset("p.png", "uploaded", "uploaded", "a", "o"))
    child = store.create(png(picture()), NewAsset("c.png", "uploaded", "uploaded", "a", "o", parent_id=parent.id))
    store.create(png(picture()), NewAsset("h.png", "uploaded", "uploaded", "a", "o", hidden=True))
    assert child.root_parent_id == parent.id
    listed = store.repository.page(AssetFilter(), page_size=10)
    assert {a.id for a in listed.items} == {parent.id, child.id}
    by_parent = store.repository.page(AssetFilter(parent_asset_id=parent.id), page_size=10)
    assert [a.id for a in by_parent.items] == [child.id]
    page = store.repository.page(AssetFilter(), page_size=1)
    assert len(page.items) == 1 and page.next_token
    rest = store.repository.page(AssetFilter(), page_size=1, pagination_token=page.next_token)
    assert {page.items[0].id, rest.items[0].id} == {parent.id, child.id}
    store.delete([child.id])
    with pytest.raises(NotFound):
        store.get(child.id)
    with pytest.raises(NotFound):
        store.delete([child.id])


def _asset(n: int, created: datetime, *, tags: tuple[str, ...] = ()) -> AssetRecord:
    return AssetRecord(
        id=f"asset_{n}",
        name=f"{n}.png",
        mime_type="image/png",
        blob_key=f"{n}.png",
        size=1,
        width=1,
        height=1,
        source="uploaded",
        hidden=False,
        metadata={},
        created_at=created,
        updated_at=created + timedelta(hours=1),
        author_id="a",
        owner_id="o",
        tags=tags,
    )


def test_asset_listing_by_tags_privacy_collection_and_dates(db: Database) -> None:
    assets = AssetRepository(db)
    t0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for n, tags in enumerate([("cat", "red"), ("cat",), (), ('a "quoted", tag',)]):
        assets.insert(_asset(n, t0 + timedelta(minutes=n), tags=tags))

    def ids(**filters: object) -> list[str]:
        flt = replace(AssetFilter(descending=False), **filters)
        return [a.id for a in assets.page(flt, page_size=10).items]

    assert ids(tags=("cat",)) == ["asset_0", "asset_1"]
    assert ids(tags=("cat", "red")) == ["asset_0"]
    assert ids(tags=("red", "blue")) == []
    assert ids(tags=('a "quoted", tag',)) == ["asset_3"]
    assert ids(privacy="private") == ["asset_0", "asset_1", "asset_2", "asset_3"]
    assert ids(privacy="public") == ids(privacy="unlisted") == ids(collection_id="collection_1") == []
    # Bounds are exclusive at the millisecond the wire shows: 12:00:00.123 is asset_0's own createdAt.
    shown = t0.replace(microsecond=123000)
    assert ids(created_after=shown) == ["asset_1", "asset_2", "asset_3"]
    assert ids(created_before=shown + timedelta(minutes=1)) == ["asset_0"]
    assert ids(created_after=shown, created_before=shown + timedelta(minutes=3)) == ["asset_1", "asset_2"]
    in_paris = shown.astimezone(timezone(timedelta(hours=2)))
    assert ids(created_after=in_paris) == ["asset_1", "asset_2", "asset_3"]
    assert ids(updated_after=shown + timedelta(hours=1, minutes=2)) == ["asset_3"]
    assert ids(updated_before=shown + timedelta(hours=1)) == []
    assert ids(created_after=datetime.max.replace(tzinfo=UTC)) == []
    assert len(ids(created_before=datetime.max.replace(tzinfo=UTC))) == 4
