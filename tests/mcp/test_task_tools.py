"""The task-level toolset (`default`, what /mcp serves without ?toolsets=) over streamable HTTP with the SDK's
client: Scenario's hosted tool names and snake_case arguments, the loop its agent skills teach, the refusals."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import httpx
import pytest

from diffuserve.mcp.task_assets import PART_BYTES
from diffuserve.service.query_schemas import JobQuery
from tests.mcp.helpers import ProgressLog, basic, http_session, payload, previews, text_of
from tests.service_helpers import RunningService, data_url, picture, png

FAST = {"prompt": "a red fox in snow", "width": 64, "height": 64, "numInferenceSteps": 2, "numSamples": 1}
SLOW = {**FAST, "numInferenceSteps": 150, "numSamples": 8}
ON_IMAGE = {k: v for k, v in FAST.items() if k not in ("width", "height")}  # the output takes the image's size


def calls(service: RunningService, headers: dict[str, str], *steps: tuple[str, dict[str, Any]]) -> list[Any]:
    """The tool calls in order, in one session."""

    async def run() -> list[Any]:
        async with http_session(service.mcp_url, headers) as client:
            return [await client.call_tool(name, arguments) for name, arguments in steps]

    return anyio.run(run)


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    return payload(result)


def test_the_loop_search_schema_run_wait_display_download(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    progress = ProgressLog()

    async def run() -> dict[str, Any]:
        async with http_session(mcp_service.mcp_url, mcp_headers) as client:
            found = await client.call_tool("search", {"target": "models", "query": "sd15", "public": True})
            schema = await client.call_tool(
                "model_schema_get", {"model_id": "tiny-sd15", "team_id": "t", "project_id": "p"}
            )
            queued = await client.call_tool("model_run", {"model_id": "tiny-sd15", "parameters": FAST, "wait": False})
            job_id = payload(queued)["job_id"]
            waited = await client.call_tool("jobs_wait", {"job_ids": [job_id]}, progress_callback=progress)
            asset_id = payload(waited)["jobs"][0]["asset_ids"][0]
            return {
                "found": found,
                "schema": schema,
                "queued": queued,
                "waited": waited,
                "asset": await client.call_tool("asset_get", {"asset_id": asset_id}),
                "display": await client.call_tool("asset_display", {"asset_id": asset_id}),
                "markdown": await client.call_tool("asset_display", {"asset_id": asset_id, "format": "markdown"}),
                "download": await client.call_tool("asset_download", {"asset_id": asset_id}),
                "webp": await client.call_tool("asset_download", {"asset_id": asset_id, "format": "webp"}),
            }

    r = anyio.run(run)
    models = ok(r["found"])["models"]
    assert [m["model_id"] for m in models][:1] == ["tiny-sd15"] and "txt2img" in models[0]["capabilities"]
    schema = ok(r["schema"])
    params = {p["name"]: p for p in schema["parameters"]}
    assert params["prompt"]["required"] is True and params["width"]["min"] == 64 and params["width"]["step"] == 8
    assert params["numSamples"]["default"] == 4 and "scheduler" in params and "image" in params
    assert ok(r["queued"])["status"] == "in_progress" and "jobs_wait" in ok(r["queued"])["next"]
    waited = ok(r["waited"])
    assert waited["pending_job_ids"] == [] and waited["jobs"][0]["status"] == "success"
    assert progress.events and progress.events[-1][0] == 100.0 and "1/1 jobs finished" in str(progress.events[-1][2])
    asset = ok(r["asset"])["asset"]
    assert asset["properties"]["width"] == 64 and asset["metadata"]["prompt"] == FAST["prompt"]
    shown = previews(r["display"])
    assert len(shown) == 1 and ok(r["display"])["url"] == asset["url"]
    assert text_of(r["markdown"]).startswith("![") and not previews(r["markdown"])
    original = httpx.get(ok(r["download"])["url"])  # signed: no credentials
    assert original.status_code == 200 and original.headers["content-type"] == "image/png"
    webp = ok(r["webp"])
    assert webp["mime_type"] == "image/webp" and httpx.get(webp["url"]).content[:4] == b"RIFF"


def test_model_run_waits_by_default_and_prices_a_dry_run(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    before = len(mcp_service.services.jobs.list(JobQuery(pageSize=200))["jobs"])
    dry, done = calls(
        mcp_service,
        mcp_headers,
        ("model_run", {"model_id": "tiny-sd15", "parameters": {**FAST, "numSamples": 3}, "dry_run": True}),
        ("model_run", {"model_id": "tiny-sd15", "parameters": {**FAST, "numSamples": 2}}),
    )
    assert ok(dry) == {"dry_run": True, "creative_units_cost": 3}
    body = ok(done)
    assert body["status"] == "success" and len(body["asset_ids"]) == 2 and body["creative_units_cost"] == 2
    assert "asset_display" in body["next"]
    assert len(mcp_service.services.jobs.list(JobQuery(pageSize=200))["jobs"]) == before + 1  # the dry run made none


def test_jobs_wait_returns_pending_jobs_on_timeout_and_cancel_ends_them(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    async def run() -> list[Any]:
        async with http_session(mcp_service.mcp_url, mcp_headers) as client:
            fast = payload(await client.call_tool("model_run", {"model_id": "tiny-sd15", "parameters": FAST}))
            slow = payload(
                await client.call_tool("model_run", {"model_id": "tiny-sd15", "parameters": SLOW, "wait": False})
            )
            ids = [fast["job_id"], slow["job_id"], "job_nope", fast["job_id"]]
            first = await client.call_tool("jobs_wait", {"job_ids": ids, "timeout_seconds": 0.5})
            cancel = await client.call_tool("job_cancel", {"job_id": slow["job_id"]})
            again = await client.call_tool("job_cancel", {"job_id": slow["job_id"]})
            second = await client.call_tool("jobs_wait", {"job_ids": payload(first)["pending_job_ids"]})
            one = await client.call_tool("job_get", {"job_id": slow["job_id"]})
            verbose = await client.call_tool("job_get", {"job_id": slow["job_id"], "verbose": True})
            listed = await client.call_tool("jobs_list", {"status": "canceled", "limit": 100})
            return [fast, slow, first, cancel, again, second, one, verbose, listed]

    fast, slow, first, cancel, again, second, one, verbose, listed = anyio.run(run)
    rows = {row["job_id"]: row for row in ok(first)["jobs"]}
    assert len(ok(first)["jobs"]) == 3  # the repeated id is waited for once
    assert rows[fast["job_id"]]["status"] == "success" and rows[fast["job_id"]]["asset_ids"]
    assert rows["job_nope"]["status"] == "not_found"
    assert rows[slow["job_id"]]["status"] == "in_progress" and 0 <= rows[slow["job_id"]]["progress"] <= 1
    assert ok(first)["pending_job_ids"] == [slow["job_id"]] and "Not an error" in ok(first)["next"]
    assert ok(cancel)["status"] == "canceled"
    assert again.is_error and text_of(again).startswith("job_finished: ")
    assert ok(second)["pending_job_ids"] == [] and ok(second)["jobs"][0]["status"] == "canceled"
    assert ok(one)["status"] == "canceled" and ok(one)["prompt"] == SLOW["prompt"] and "metadata" not in ok(one)
    assert ok(verbose)["job"]["metadata"]["input"]["numInferenceSteps"] == 150
    assert slow["job_id"] in [row["job_id"] for row in ok(listed)["jobs"]]


def test_upload_inline_and_multipart_then_run_on_the_upload(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    raw = png(picture(96, seed=2))
    inline, typed = calls(
        mcp_service,
        mcp_headers,
        (
            "upload_asset",
            {"file_name": "a.png", "content_type": "image/png", "kind": "image", "data": data_url(picture())},
        ),
        ("upload_asset", {"file_name": "b.png", "content_type": "image/png", "data": base64.b64encode(raw).decode()}),
    )
    assert ok(inline)["width"] == 64 and ok(typed)["width"] == 96

    (started,) = calls(
        mcp_service,
        mcp_headers,
        ("upload_asset", {"file_name": "c.png", "content_type": "image/png", "file_size": len(raw)}),
    )
    upload = ok(started)
    assert (
        len(upload["parts"]) == 1
        and upload["part_size"] == PART_BYTES
        and "upload_asset_complete" in upload["instructions"]
    )
    assert httpx.put(upload["parts"][0]["url"], content=raw).status_code < 300  # the part URL is signed
    done, run = calls(
        mcp_service,
        mcp_headers,
        ("upload_asset_complete", {"upload_id": upload["upload_id"]}),
        (
            "model_run",
            {"model_id": "tiny-sd15", "parameters": {**ON_IMAGE, "image": ok(typed)["asset_id"], "strength": 0.8}},
        ),
    )
    asset_id = ok(done)["asset_id"]
    assert (
        asset_id.startswith("asset_")
        and mcp_service.services.assets.get(asset_id)["asset"]["properties"]["width"] == 96
    )
    assert ok(run)["status"] == "success"
    job = mcp_service.services.jobs.get(ok(run)["job_id"])["job"]
    assert job["metadata"]["input"]["type"] == "img2img" and job["metadata"]["input"]["width"] == 96


def test_search_finds_assets_and_jobs_by_prompt_words(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    prompt = "a lighthouse made of marzipan"
    _, assets, jobs, none, uploads = calls(
        mcp_service,
        mcp_headers,
        ("model_run", {"model_id": "tiny-sd15", "parameters": {**FAST, "prompt": prompt}}),
        ("search", {"target": "assets", "query": "MARZIPAN lighthouse"}),
        ("search", {"target": "jobs", "query": "marzipan", "filters": {"status": "success", "model_id": "tiny-sd15"}}),
        ("search", {"query": "marzipan submarine"}),
        ("search", {"target": "assets", "filters": {"kind": "video"}}),
    )
    assert [a["prompt"] for a in ok(assets)["assets"]] == [prompt]
    assert [j["prompt"] for j in ok(jobs)["jobs"]] == [prompt]
    assert ok(none) == {"models": [], "assets": [], "jobs": []}
    assert ok(uploads)["assets"] == []


@pytest.mark.parametrize(
    ("tool", "arguments", "reason"),
    [
        ("model_run", {"model_id": "tiny-sd15", "parameters": {**FAST, "steps": 3}}, "unknown_input"),
        ("model_run", {"model_id": "nope", "parameters": FAST}, "model_not_found"),
        ("model_run", {"model_id": "tiny-sd15", "parameters": {**FAST, "width": 65}}, "invalid_request"),
        (
            "model_run",
            {"model_id": "tiny-sd15", "parameters": {**FAST, "image": "/home/me/cat.png"}},
            "local_path_not_allowed",
        ),
        ("model_run", {"model_id": "tiny-sd15", "prompt": "x"}, "invalid_request"),  # not an argument: in parameters
        ("model_schema_get", {"model_id": "nope"}, "model_not_found"),
        ("jobs_wait", {"job_ids": []}, "invalid_request"),
        ("jobs_wait", {"job_ids": ["job_a"] * 33}, "invalid_request"),
        ("job_get", {"job_id": "job_nope"}, "job_not_found"),
        ("job_cancel", {"job_id": "job_nope"}, "job_not_found"),
        ("asset_display", {"asset_id": "asset_nope"}, "asset_not_found"),
        ("asset_download", {"asset_id": "asset_nope"}, "asset_not_found"),
        ("upload_asset", {"file_name": "x.png"}, "missing_field"),
        ("upload_asset", {"file_name": "x.png", "data": "~/x.png"}, "local_path_not_allowed"),
        ("upload_asset", {"file_name": "x.mp3", "kind": "audio", "data": "AAAA"}, "unsupported_kind"),
        ("upload_asset", {"file_name": "x.png", "path": "/tmp/x.png"}, "invalid_request"),  # stdio only
        ("search", {"target": "workflows"}, "invalid_request"),
    ],
)
def test_refusals_are_tool_errors_with_the_rest_reason(
    mcp_service: RunningService, mcp_headers: dict[str, str], tool: str, arguments: dict[str, Any], reason: str
) -> None:
    (result,) = calls(mcp_service, mcp_headers, (tool, arguments))
    assert result.is_error
    assert text_of(result).startswith(f"{reason}: "), text_of(result)


def test_an_unknown_download_format_and_a_bad_key_are_refused(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    (stored,) = calls(mcp_service, mcp_headers, ("upload_asset", {"file_name": "a.png", "data": data_url(picture())}))
    (bad,) = calls(mcp_service, mcp_headers, ("asset_download", {"asset_id": ok(stored)["asset_id"], "format": "mp4"}))
    assert bad.is_error and text_of(bad).startswith("unsupported_format: ")
    with pytest.raises(Exception):  # noqa: B017 - the SDK's error type for an HTTP 401 is not the point here
        calls(mcp_service, basic("api_nope", "wrong"), ("asset_get", {"asset_id": ok(stored)["asset_id"]}))
