"""Records to wire dicts: the Job, Asset and Model objects of spec §4, with signed URLs made at read time."""

from __future__ import annotations

from typing import Any

from diffuserve.catalog.registry import ModelSpec
from diffuserve.service.signing import UrlSigner, asset_content_path, preview_path
from diffuserve.storage.records import AssetRecord, JobRecord
from diffuserve.storage.timeutil import iso

# Models are files on disk, not rows: their dates are the registry's.
MODEL_DATE = "2025-01-01T00:00:00.000Z"


def job_wire(job: JobRecord, signer: UrlSigner) -> dict[str, Any]:
    output = dict(job.output)
    if job.preview_count and not job.status.is_terminal:
        output["intermediateImages"] = [signer.sign(preview_path(job.id, i)) for i in range(job.preview_count)]
    return {
        "jobId": job.id,
        "jobType": job.job_type,
        "status": job.status.value,
        "progress": job.progress,
        "metadata": {"input": dict(job.input), "output": output, "assetIds": list(job.asset_ids)},
        "statusHistory": [{"status": h.status.value, "date": iso(h.date)} for h in job.status_history],
        "createdAt": iso(job.created_at),
        "updatedAt": iso(job.updated_at),
        "authorId": job.author_id,
        "ownerId": job.owner_id,
    }


def asset_wire(asset: AssetRecord, signer: UrlSigner) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": asset.id,
        "url": signer.sign(asset_content_path(asset.id)),
        "mimeType": asset.mime_type,
        "kind": "image",
        "metadata": dict(asset.metadata),
        "properties": {"size": asset.size, "width": asset.width, "height": asset.height},
        "source": asset.source,
        "status": "success",
        "privacy": "private",
        "tags": list(asset.tags),
        "collectionIds": [],
        "editCapabilities": [],
        "ownerId": asset.owner_id,
        "authorId": asset.author_id,
        "createdAt": iso(asset.created_at),
        "updatedAt": iso(asset.updated_at),
    }
    if asset.output_index is not None:
        wire["outputIndex"] = asset.output_index
    return wire


def model_wire(model: ModelSpec) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "type": model.type.wire_type,
        "status": "trained",
        "capabilities": list(model.capabilities),
        "custom": False,
        "privacy": "private",
        "source": "other",
        "tags": [],
        "collectionIds": [],
        "exampleAssetIds": [],
        "trainingImagesNumber": 0,
        "createdAt": MODEL_DATE,
        "updatedAt": MODEL_DATE,
        "ownerId": "local",
        "authorId": "local",
    }
    if model.description:
        wire["shortDescription"] = model.description
    if model.compliant_model_ids:
        wire["compliantModelIds"] = list(model.compliant_model_ids)
    return wire
