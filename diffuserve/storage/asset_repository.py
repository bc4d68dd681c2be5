"""Assets in the database: insert, read, filtered listing (hidden and deleted ones left out), delete.

A row may be `pending`: written before its blob and not live yet, or being removed. Pending rows are never
listed or read; the write that refers to a new asset makes it live in its own transaction (`make_live`), and
the start-up sweep removes whatever a crash left pending, with its blob.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, cast, exists, false, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session

from diffuserve.errors import NotFound
from diffuserve.storage.database import Database
from diffuserve.storage.pagination import decode_token, encode_token
from diffuserve.storage.records import AssetRecord, Page
from diffuserve.storage.tables import AssetRow
from diffuserve.storage.timeutil import as_utc, utcnow

_MS = timedelta(milliseconds=1)


def _record(row: AssetRow) -> AssetRecord:
    return AssetRecord(
        id=row.id,
        name=row.name,
        mime_type=row.mime_type,
        blob_key=row.blob_key,
        size=row.size,
        width=row.width,
        height=row.height,
        source=row.source,
        hidden=row.hidden,
        metadata=dict(row.metadata_),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        author_id=row.author_id,
        owner_id=row.owner_id,
        parent_id=row.parent_id,
        root_parent_id=row.root_parent_id,
        inference_id=row.inference_id,
        model_id=row.model_id,
        asset_type=row.asset_type,
        output_index=row.output_index,
        tags=tuple(row.tags),
    )


@dataclass(frozen=True)
class AssetFilter:
    """The filters of GET /assets that diffuserve stores."""

    inference_id: str | None = None
    model_id: str | None = None
    parent_asset_id: str | None = None
    root_asset_id: str | None = None
    author_id: str | None = None
    owner_id: str | None = None
    types: tuple[str, ...] | None = None
    privacy: str | None = None
    tags: tuple[str, ...] = ()
    collection_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    sort_by: str = "createdAt"
    descending: bool = True


def _floor_ms(moment: datetime) -> datetime:
    moment = as_utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _after(column: InstrumentedAttribute[datetime], moment: datetime) -> ColumnElement[bool]:
    """Later than `moment` to the millisecond, as the wire shows times: an asset's own createdAt leaves it out."""
    try:
        return column >= _floor_ms(moment) + _MS
    except OverflowError:
        return false()


def _before(column: InstrumentedAttribute[datetime], moment: datetime) -> ColumnElement[bool]:
    """Earlier than `moment` to the millisecond, as the wire shows times."""
    floor = _floor_ms(moment)
    if floor == as_utc(moment):
        return column < floor
    try:
        return column < floor + _MS
    except OverflowError:
        return true()


def make_live(session: Session, asset_ids: Iterable[str]) -> None:
    """Within another write's transaction: the pending assets it refers to become live with it."""
    ids = list(asset_ids)
    if ids:
        session.execute(
            update(AssetRow)
            .where(AssetRow.id.in_(ids), AssetRow.pending.is_(True))
            .values(pending=False, deleted=False)
            .execution_options(synchronize_session=False)
        )


class AssetRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, asset: AssetRecord, *, pending: bool = False) -> AssetRecord:
        """A live row, or with `pending` one that is not live until `make_live` (its blob is written after it)."""
        row = AssetRow(
            id=asset.id,
            name=asset.name,
            mime_type=asset.mime_type,
            blob_key=asset.blob_key,
            size=asset.size,
            width=asset.width,
            height=asset.height,
            source=asset.source,
            asset_type=asset.asset_type,
            hidden=asset.hidden,
            metadata_=asset.metadata,
            tags=list(asset.tags),
            created_at=asset.created_at,
            updated_at=asset.updated_at,
            author_id=asset.author_id,
            owner_id=asset.owner_id,
            parent_id=asset.parent_id,
            root_parent_id=asset.root_parent_id,
            inference_id=asset.inference_id,
            model_id=asset.model_id,
            output_index=asset.output_index,
            deleted=pending,
            pending=pending,
        )
        with self.db.session() as s:
            s.add(row)
        return asset

    def get(self, asset_id: str, *, pending: bool = False, owner_id: str | None = None) -> AssetRecord:
        """A live asset (or, with `pending`, one not live yet either); with `owner_id`, only that project's (another
        project's asset does not exist for it)."""
        with self.db.read() as s:
            row = s.get(AssetRow, asset_id)
            if (
                row is None
                or (row.deleted and not (pending and row.pending))
                or (owner_id is not None and row.owner_id != owner_id)
            ):
                raise NotFound(f"asset {asset_id!r} does not exist", reason="asset_not_found")
            return _record(row)

    def page(self, flt: AssetFilter, *, page_size: int, pagination_token: str | None = None) -> Page:
        offset = decode_token(pagination_token)
        column = AssetRow.updated_at if flt.sort_by == "updatedAt" else AssetRow.created_at
        order = (column.desc(), AssetRow.id.desc()) if flt.descending else (column.asc(), AssetRow.id.asc())
        query = select(AssetRow).where(AssetRow.deleted.is_(False), AssetRow.hidden.is_(False)).order_by(*order)
        if flt.inference_id is not None:
            query = query.where(AssetRow.inference_id == flt.inference_id)
        if flt.model_id is not None:
            query = query.where(AssetRow.model_id == flt.model_id)
        if flt.parent_asset_id is not None:
            query = query.where(AssetRow.parent_id == flt.parent_asset_id)
        if flt.root_asset_id is not None:
            query = query.where(AssetRow.root_parent_id == flt.root_asset_id)
        if flt.author_id is not None:
            query = query.where(AssetRow.author_id == flt.author_id)
        if flt.owner_id is not None:
            query = query.where(AssetRow.owner_id == flt.owner_id)
        if flt.types is not None:
            query = query.where(AssetRow.asset_type.in_(list(flt.types)))
        if flt.privacy not in (None, "private") or flt.collection_id is not None:
            query = query.where(false())  # every stored asset is private and in no collection
        if flt.tags:
            query = self._with_tags(query, flt.tags)
        for column, after, before in (
            (AssetRow.created_at, flt.created_after, flt.created_before),
            (AssetRow.updated_at, flt.updated_after, flt.updated_before),
        ):
            if after is not None:
                query = query.where(_after(column, after))
            if before is not None:
                query = query.where(_before(column, before))
        with self.db.read() as s:
            rows = s.scalars(query.offset(offset).limit(page_size + 1)).all()
            items = tuple(_record(r) for r in rows[:page_size])
        return Page(items, encode_token(offset + page_size) if len(rows) > page_size else None)

    def _with_tags(self, query: Select[AssetRow], tags: tuple[str, ...]) -> Select[AssetRow]:
        """Assets holding every one of `tags` in their JSON array: jsonb containment on PostgreSQL, json_each
        on SQLite."""
        if self.db.engine.dialect.name == "postgresql":
            return query.where(cast(AssetRow.tags, JSONB).contains(list(tags)))
        for tag in tags:
            each = func.json_each(AssetRow.tags).table_valued("value")
            query = query.where(exists(select(1).select_from(each).where(each.c.value == tag)))
        return query

    def delete(self, asset_ids: Iterable[str], *, owner_id: str | None = None) -> list[AssetRecord]:
        """Marks the assets deleted and pending (all or none) and returns them: their blobs are removed next,
        then `settle` ends the removal (a crash in between leaves them to the sweep)."""
        ids = list(dict.fromkeys(asset_ids))
        with self.db.session() as s:
            query = select(AssetRow).where(AssetRow.id.in_(ids), AssetRow.deleted.is_(False))
            if owner_id is not None:
                query = query.where(AssetRow.owner_id == owner_id)
            rows = s.scalars(query).all()
            found = {r.id for r in rows}
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"assets {missing!r} do not exist", reason="asset_not_found")
            s.execute(
                update(AssetRow).where(AssetRow.id.in_(ids)).values(deleted=True, pending=True, updated_at=utcnow())
            )
            return [_record(r) for r in rows]

    def delete_outputs_of(self, job_id: str) -> list[AssetRecord]:
        """Marks what a run of a job stored (live or pending) for removal, before it runs again or after it failed;
        their blobs are removed next, then `settle`."""
        with self.db.session() as s:
            rows = s.scalars(
                select(AssetRow).where(
                    AssetRow.inference_id == job_id, or_(AssetRow.deleted.is_(False), AssetRow.pending.is_(True))
                )
            ).all()
            ids = [r.id for r in rows]
            if ids:
                s.execute(
                    update(AssetRow).where(AssetRow.id.in_(ids)).values(deleted=True, pending=True, updated_at=utcnow())
                )
            return [_record(r) for r in rows]

    def commit(self, asset_ids: Iterable[str]) -> None:
        """Pending assets become live (their blobs are in place)."""
        with self.db.session() as s:
            make_live(s, asset_ids)

    def settle(self, asset_ids: Iterable[str]) -> None:
        """Pending assets whose blobs are gone stay as deleted rows, no longer pending."""
        ids = list(asset_ids)
        if ids:
            with self.db.session() as s:
                s.execute(
                    update(AssetRow)
                    .where(AssetRow.id.in_(ids), AssetRow.pending.is_(True))
                    .values(pending=False, deleted=True)
                )

    def pending(self, *, older_than: datetime | None = None, limit: int = 1000) -> list[AssetRecord]:
        """Rows a write or removal left pending (all of them, or those last touched before `older_than`)."""
        query = select(AssetRow).where(AssetRow.pending.is_(True)).order_by(AssetRow.updated_at).limit(limit)
        if older_than is not None:
            query = query.where(AssetRow.updated_at < older_than)
        with self.db.read() as s:
            return [_record(r) for r in s.scalars(query).all()]

    def live_blob_keys(self) -> set[str]:
        """The blob keys of every live asset."""
        with self.db.read() as s:
            return set(s.scalars(select(AssetRow.blob_key).where(AssetRow.deleted.is_(False))).all())
