"""Compact, snake_case rows for the task-level tools: what an agent needs to act next, not the whole object
(job_get verbose=true and asset_get give that)."""

from __future__ import annotations

from typing import Any

from mcp_types import ToolAnnotations

from diffuserve.mcp.context import TERMINAL

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
DESTROYS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)

IN_PROGRESS = "in_progress"  # every unfinished status, as the hosted server says it
_PROMPT_CHARS = 120
FAILED_HINT = "Nothing to retrieve: fix the parameters (model_schema_get) or pick another model, then model_run."


def job_row(job: dict[str, Any]) -> dict[str, Any]:
    """A job as {job_id, status, model_id, asset_ids, ...}: status success | failure | canceled | in_progress."""
    status = str(job["status"])
    metadata = job.get("metadata", {})
    row: dict[str, Any] = {
        "job_id": job["jobId"],
        "status": status if status in TERMINAL else IN_PROGRESS,
        "model_id": metadata.get("input", {}).get("modelId"),
        "asset_ids": list(metadata.get("assetIds", [])),
    }
    if status not in TERMINAL:
        row["stage"] = status
        row["progress"] = round(float(job.get("progress") or 0), 2)
    elif status == "failure":
        row["error"] = metadata.get("output", {}).get("error") or "the generation failed"
        row["hint"] = FAILED_HINT
    elif status == "canceled":
        row["hint"] = "Canceled: it made no assets."
    return row


def job_summary(job: dict[str, Any]) -> dict[str, Any]:
    """job_row plus what tells jobs apart in a list: the prompt and when it was created."""
    row = job_row(job)
    prompt = job.get("metadata", {}).get("input", {}).get("prompt")
    if isinstance(prompt, str):
        row["prompt"] = prompt[:_PROMPT_CHARS]
    row["created_at"] = job.get("createdAt")
    return row


def asset_row(asset: dict[str, Any]) -> dict[str, Any]:
    metadata = asset.get("metadata", {})
    props = asset.get("properties", {})
    row: dict[str, Any] = {"asset_id": asset["id"], "name": metadata.get("name"), "source": asset.get("source")}
    for key, name in (("modelId", "model_id"), ("prompt", "prompt")):
        if isinstance(metadata.get(key), str):
            row[name] = metadata[key][:_PROMPT_CHARS]
    row.update(width=props.get("width"), height=props.get("height"), created_at=asset.get("createdAt"))
    return row


def model_row(model: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model_id": model["id"],
        "name": model.get("name"),
        "type": model.get("type"),
        "capabilities": model.get("capabilities", []),
    }
    if model.get("compliantModelIds"):
        row["base_model_ids"] = model["compliantModelIds"]
    return row
