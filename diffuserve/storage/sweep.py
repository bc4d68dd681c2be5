"""Removes what crashes left behind: pending asset rows with their blobs, and (at the start of the one process of a
data folder) blob files nothing points to.

Writes are ordered so that a crash leaves only pending rows (asset_store.py), which name their blobs; older
versions wrote the blob first, and a local store may hold unfinished temporary files, so the start of an
exclusive process also compares the files with the rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from diffuserve.storage.asset_store import AssetStore
from diffuserve.storage.blobs import LocalBlobStore
from diffuserve.storage.timeutil import utcnow
from diffuserve.storage.upload_repository import UploadRepository

logger = logging.getLogger(__name__)

BATCH = 500
# In a cluster, a pending row this old is a crash's: a write normally makes its assets live within seconds.
STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Swept:
    """What one sweep removed."""

    pending_assets: int = 0
    files: int = 0
    uploads_reopened: int = 0

    @property
    def total(self) -> int:
        return self.pending_assets + self.files + self.uploads_reopened


def sweep_pending(assets: AssetStore, *, older_than: datetime | None = None) -> int:
    """Pending asset rows (all, or those untouched since `older_than`): their blobs go, the rows stay deleted."""
    removed = 0
    while True:
        pending = assets.repository.pending(older_than=older_than, limit=BATCH)
        if not pending:
            return removed
        assets.discard(pending)
        removed += len(pending)


def sweep_stale(assets: AssetStore) -> None:
    """The cluster leader's duty: pending rows untouched for STALE_AFTER (other processes may be mid-write)."""
    removed = sweep_pending(assets, older_than=utcnow() - STALE_AFTER)
    if removed:
        logger.warning("swept pending assets a crash left pending_assets=%d", removed)


def sweep_at_start(assets: AssetStore, uploads: UploadRepository) -> Swept:
    """Everything a crash can leave, for a process that owns its data folder and has not started work yet:
    pending asset rows; uploads stuck completing; and in a local blob store, files that no live asset, pending
    upload or running job uses (a blob written before its row, a temporary file, previews, parts)."""
    pending = sweep_pending(assets)
    reopened = uploads.reopen_validating()
    files = 0
    blobs = assets.blobs
    if isinstance(blobs, LocalBlobStore):
        live = assets.repository.live_blob_keys()
        open_uploads = uploads.pending_ids()
        for key in list(blobs.keys()):
            if _in_use(key, live, open_uploads):
                continue
            blobs.delete(key)
            files += 1
    swept = Swept(pending_assets=pending, files=files, uploads_reopened=len(reopened))
    if swept.total:
        logger.warning(
            "swept what a crash left pending_assets=%d files=%d uploads_reopened=%d",
            swept.pending_assets,
            swept.files,
            swept.uploads_reopened,
        )
    return swept


def _in_use(key: str, live: set[str], open_uploads: set[str]) -> bool:
    """Assets' files while their row is live; upload parts while the upload is pending; previews never (no job
    runs before the worker starts); anything else diffuserve does not write is left alone."""
    top, _, rest = key.partition("/")
    if key.rsplit("/", 1)[-1].startswith(".tmp-"):
        return False
    if top == "assets":
        return key in live
    if top == "uploads":
        return rest.split("/", 1)[0] in open_uploads
    return top != "previews"
