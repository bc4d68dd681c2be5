"""search: find models, assets and jobs by words and filters, through the same list calls as the REST API.

Every word of the query must occur (case-insensitively) in what is searched: ids and names, and for assets and
jobs the prompt, model and tags. Assets and jobs are scanned newest first, up to SCAN_LIMIT of each, so a search
stays fast on a large library; the answer says when that limit was reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from mcp_types import CallToolResult

from diffuserve.errors import InvalidRequest
from diffuserve.mcp.context import ToolCall
from diffuserve.mcp.registration import ToolSpec
from diffuserve.mcp.results import text_result
from diffuserve.mcp.task_results import READ_ONLY, asset_row, job_summary, model_row
from diffuserve.mcp.task_schemas import SearchArguments, SearchFilters
from diffuserve.service.keys import Caller
from diffuserve.service.query_schemas import AssetQuery, JobQuery, ModelQuery
from diffuserve.service.services import Services
from diffuserve.service.wire_types import validate_model

SCAN_LIMIT = 1000
_ASSET_PAGE = 100
_JOB_PAGE = 200


def _words(query: str | None) -> list[str]:
    return [word for word in (query or "").lower().split() if word]


def _matches(words: list[str], *fields: Any) -> bool:
    text = " ".join(str(f) for f in fields if f is not None).lower()
    return all(word in text for word in words)


def _pages(fetch: Callable[[str | None], dict[str, Any]], key: str) -> Iterator[dict[str, Any]]:
    """Items of a paginated list call, newest first, at most SCAN_LIMIT."""
    token: str | None = None
    seen = 0
    while seen < SCAN_LIMIT:
        page = fetch(token)
        for item in page[key]:
            seen += 1
            yield item
            if seen >= SCAN_LIMIT:
                return
        token = page.get("nextPaginationToken")
        if not token:
            return


def search_models(
    services: Services, words: list[str], flt: SearchFilters, limit: int, caller: Caller
) -> list[dict[str, Any]]:
    found = []

    def fetch(token: str | None) -> dict[str, Any]:
        return services.models.list(ModelQuery(paginationToken=token))

    for model in _pages(fetch, "models"):
        if flt.capability and flt.capability.replace("-", "_") not in model.get("capabilities", []):
            continue
        haystack = (model["id"], model.get("name"), model.get("type"), model.get("shortDescription"))
        if _matches(words, *haystack, *model.get("capabilities", [])):
            found.append(model_row(model))
    return found[:limit]


def search_assets(
    services: Services, words: list[str], flt: SearchFilters, limit: int, caller: Caller
) -> list[dict[str, Any]]:
    if flt.kind and flt.kind.strip().lower() != "image":
        return []  # every asset here is an image
    filters: dict[str, Any] = {
        "modelId": flt.model_id,
        "tags": ",".join(flt.tags) if flt.tags else None,
        "createdAfter": flt.created_after,
        "createdBefore": flt.created_before,
    }

    def fetch(token: str | None) -> dict[str, Any]:
        query = validate_model(AssetQuery, {**filters, "pageSize": _ASSET_PAGE, "paginationToken": token})
        return services.assets.list(query, caller=caller)

    found = []
    for asset in _pages(fetch, "assets"):
        meta = asset.get("metadata", {})
        fields = (asset["id"], asset.get("source"), meta.get("name"), meta.get("prompt"), meta.get("modelId"))
        if _matches(words, *fields, *asset.get("tags", [])):
            found.append(asset_row(asset))
            if len(found) >= limit:
                break
    return found


def search_jobs(
    services: Services, words: list[str], flt: SearchFilters, limit: int, caller: Caller
) -> list[dict[str, Any]]:
    after, before = flt.created_after, flt.created_before

    def fetch(token: str | None) -> dict[str, Any]:
        query = validate_model(JobQuery, {"status": flt.status, "pageSize": _JOB_PAGE, "paginationToken": token})
        return services.jobs.list(query, caller=caller)

    found = []
    for job in _pages(fetch, "jobs"):
        created = datetime.fromisoformat(job["createdAt"])
        if (after and created <= after) or (before and created >= before):
            continue
        inp = job.get("metadata", {}).get("input", {})
        if flt.model_id and inp.get("modelId") != flt.model_id:
            continue
        if _matches(words, job["jobId"], job.get("status"), inp.get("prompt"), inp.get("modelId"), inp.get("type")):
            found.append(job_summary(job))
            if len(found) >= limit:
                break
    return found


_SEARCHES = {"models": search_models, "assets": search_assets, "jobs": search_jobs}


async def search(call: ToolCall, args: SearchArguments) -> CallToolResult:
    target = args.target.strip().lower()
    if target not in ("all", *_SEARCHES):
        raise InvalidRequest(f"target must be models, assets, jobs or all, got {args.target!r}", field="target")
    words, flt = _words(args.query), args.filters or SearchFilters()
    targets = list(_SEARCHES) if target == "all" else [target]

    def run() -> dict[str, Any]:
        return {name: _SEARCHES[name](call.services, words, flt, args.limit, call.caller) for name in targets}

    payload = await asyncio.to_thread(run)
    summary = ", ".join(f"{len(rows)} {name}" for name, rows in payload.items())
    if any(name != "models" for name in targets):
        summary += f" (assets and jobs: the {SCAN_LIMIT} newest of each are searched)"
    return text_result(summary + ".", payload, compact=True)


def search_spec() -> ToolSpec[SearchArguments]:
    return ToolSpec(
        "search",
        "Search models, assets and jobs",
        "Find model ids (target=models, e.g. query='sdxl' or filters.capability='inpaint'), earlier images "
        "(target=assets) or jobs (target=jobs) by words in ids, names and prompts. Returns compact rows; then "
        "model_schema_get a model, or asset_display an asset.",
        SearchArguments,
        search,
        READ_ONLY,
    )
