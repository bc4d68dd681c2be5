"""The MCP tools over streamable HTTP at /mcp: real SDK client sessions against the running app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from diffuserve.engine.engine import Engine
from diffuserve.service.query_schemas import JobQuery
from tests.mcp.helpers import (
    ProgressLog,
    api_url,
    assert_preview_images,
    basic,
    http_session,
    payload,
    previews,
    text_of,
)
from tests.service_helpers import RunningService, data_url, mask, picture, run_service

TINY = {
    "modelId": "tiny-sd15",
    "prompt": "a red fox",
    "width": 64,
    "height": 64,
    "numInferenceSteps": 2,
    "numSamples": 1,
}
GENERATE_MODES = ["txt2img", "txt2img-ip-adapter", "img2img", "img2img-ip-adapter", "inpaint", "inpaint-ip-adapter"]


def arguments_for(mode: str, image: str, mask_image: str, reference: str, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(TINY)
    if mode.startswith(("img2img", "inpaint")):
        args.update(image=image, strength=0.8)
    if mode.startswith("inpaint"):
        args["mask"] = mask_image
    if mode.endswith("ip-adapter"):
        args.update(ipAdapterImages=[reference], ipAdapterScales=[0.5])
    return {**args, **extra}


def call(service: RunningService, headers: dict[str, str], tool: str, arguments: dict[str, Any]) -> Any:
    async def run() -> Any:
        async with http_session(api_url(service), headers) as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(run)


@pytest.mark.parametrize("mode", GENERATE_MODES)
def test_each_generate_tool_waits_and_returns_previews_urls_and_progress(
    mcp_service: RunningService, mcp_headers: dict[str, str], mode: str
) -> None:
    progress = ProgressLog()
    args = arguments_for(mode, data_url(picture()), data_url(mask()), data_url(picture(seed=3)), numSamples=2)

    async def run() -> Any:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            return await client.call_tool(f"post-{mode}-inferences", args, progress_callback=progress)

    result = anyio.run(run)
    assert not result.is_error, text_of(result)
    body = payload(result)
    assert body["job"]["status"] == "success"
    assert body["job"]["metadata"]["input"]["type"] == mode.replace("-", "_")
    assert body["job"]["authorId"].startswith("api_")  # the API key that called
    assert body["creativeUnitsCost"] > 0
    assert [i["assetId"] for i in body["images"]] == body["job"]["metadata"]["assetIds"]
    assert_preview_images(result, 2)
    full = httpx.get(body["images"][0]["url"])  # signed: no credentials needed
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    progress.assert_increasing_to_done()


def test_wait_zero_returns_the_queued_job_and_get_job_id_waits_for_the_images(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    progress = ProgressLog()

    async def run() -> tuple[Any, Any]:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            queued = await client.call_tool("post-txt2img-inferences", {**TINY, "waitSeconds": 0})
            job_id = payload(queued)["job"]["jobId"]
            done = await client.call_tool(
                "get-job-id", {"jobId": job_id, "waitSeconds": 60}, progress_callback=progress
            )
            return queued, done

    queued, done = anyio.run(run)
    assert not queued.is_error and not previews(queued)
    assert payload(queued)["job"]["status"] in ("queued", "warming-up", "in-progress")
    assert "get-job-id" in payload(queued)["next"]
    assert payload(done)["job"]["status"] == "success"
    assert_preview_images(done, 1)
    assert progress.events and progress.events[-1][0] == 100.0


def test_a_job_is_canceled_through_the_tool_and_a_second_cancel_is_a_tool_error(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    async def run() -> tuple[Any, Any, Any]:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            started = await client.call_tool(
                "post-txt2img-inferences", {**TINY, "numInferenceSteps": 150, "numSamples": 8, "waitSeconds": 0}
            )
            job_id = payload(started)["job"]["jobId"]
            action = {"jobId": job_id, "action": "cancel"}
            first = await client.call_tool("post-job-action-by-job-id", action)
            second = await client.call_tool("post-job-action-by-job-id", action)
            read = await client.call_tool("get-job-id", {"jobId": job_id, "waitSeconds": 0})
            return first, second, read

    first, second, read = anyio.run(run)
    assert not first.is_error and payload(first)["job"]["status"] == "canceled"
    assert second.is_error and text_of(second).startswith("job_finished: ")
    assert payload(read)["job"]["status"] == "canceled" and not previews(read)


def test_bad_input_is_a_tool_error_with_the_rest_reason_and_message(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    body = {**TINY, "image": data_url(picture()), "strength": 5}
    with httpx.Client(base_url=mcp_service.base_url, headers=mcp_headers) as rest:
        answer = rest.post("/v1/generate/img2img", json=body)
    assert answer.status_code == 400
    result = call(mcp_service, mcp_headers, "post-img2img-inferences", body)
    assert result.is_error
    assert text_of(result).startswith(f"{answer.json()['reason']}: {answer.json()['message']}")


@pytest.mark.parametrize(
    ("tool", "arguments", "reason"),
    [
        ("post-txt2img-inferences", {**TINY, "modelId": "no-such-model"}, "model_not_found"),
        ("post-txt2img-inferences", {"prompt": "a fox"}, "missing_field"),
        ("post-txt2img-inferences", {**TINY, "numSamples": "many"}, "invalid_request"),
        ("post-img2img-inferences", {**TINY, "image": "/home/me/cat.png"}, "local_path_not_allowed"),
        ("post-job-action-by-job-id", {"jobId": "job_nope", "action": "cancel"}, "job_not_found"),
        ("post-job-action-by-job-id", {"jobId": "job_nope", "action": "pause"}, "invalid_request"),
        ("get-models-by-model-id", {"modelId": "nope"}, "model_not_found"),
        ("post-asset", {"name": "x.png", "image": "~/x.png"}, "local_path_not_allowed"),
        ("post-txt2img-inferences", {**TINY, "waitSeconds": 601}, "invalid_request"),  # above the schema's max
        ("get-job-id", {"jobId": "job_nope", "waitSeconds": -1}, "invalid_request"),
    ],
)
def test_refusals_are_tool_errors_never_crashes(
    mcp_service: RunningService, mcp_headers: dict[str, str], tool: str, arguments: dict[str, Any], reason: str
) -> None:
    result = call(mcp_service, mcp_headers, tool, arguments)
    assert result.is_error
    assert text_of(result).startswith(f"{reason}: "), text_of(result)


def test_an_argument_the_mode_does_not_take_is_a_warning_naming_the_closest_one(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    """As over REST: a client of a newer Scenario version keeps working, and a typo is pointed out."""
    arguments = {**TINY, "strength": 0.5, "steps": 3, "dryRun": True}
    result = call(mcp_service, mcp_headers, "post-txt2img-inferences", arguments)
    assert not result.is_error
    warnings = {w["field"]: w for w in payload(result)["warnings"]}
    assert set(warnings) == {"strength", "steps"}
    assert warnings["steps"]["closest"] == "numInferenceSteps"


def test_dry_run_prices_the_request_and_creates_nothing(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    before = mcp_service.services.jobs.list(JobQuery(pageSize=200))["jobs"]
    result = call(mcp_service, mcp_headers, "post-txt2img-inferences", {**TINY, "numSamples": 3, "dryRun": True})
    assert not result.is_error
    assert set(payload(result)) == {"creativeUnitsCost"}
    assert mcp_service.services.jobs.list(JobQuery(pageSize=200))["jobs"] == before


def test_upload_then_read_list_and_look_at_the_asset(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    async def run() -> tuple[Any, Any, Any, Any]:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            stored = await client.call_tool("post-asset", {"name": "sketch.png", "image": data_url(picture(96))})
            asset_id = payload(stored)["asset"]["id"]
            one = await client.call_tool("get-assets-by-asset-id", {"assetId": asset_id})
            listed = await client.call_tool("get-assets", {"type": "uploaded", "pageSize": 100})
            created = payload(stored)["asset"]["createdAt"]
            later = await client.call_tool("get-assets", {"type": "uploaded", "createdAfter": created})
            return stored, one, listed, later

    stored, one, listed, later = anyio.run(run)
    asset = payload(stored)["asset"]
    assert asset["properties"]["width"] == 96 and asset["metadata"]["name"] == "sketch.png"
    assert payload(one)["asset"]["id"] == asset["id"]
    assert_preview_images(one, 1)
    assert asset["id"] in [a["id"] for a in payload(listed)["assets"]]
    assert asset["id"] not in [a["id"] for a in payload(later)["assets"]]  # the bound is exclusive


def test_models_and_jobs_can_be_read(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    async def run() -> tuple[Any, Any, Any]:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            models = await client.call_tool("get-models", {})
            model = await client.call_tool("get-models-by-model-id", {"modelId": "tiny-sd15"})
            jobs = await client.call_tool("get-jobs", {"pageSize": 5})
            return models, model, jobs

    models, model, jobs = anyio.run(run)
    assert "tiny-sd15" in [m["id"] for m in payload(models)["models"]]
    assert "txt2img" in payload(model)["model"]["capabilities"]
    assert isinstance(payload(jobs)["jobs"], list)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "missing_credentials"), (basic("api_nope", "wrong"), "invalid_credentials")],
)
def test_without_a_valid_key_mcp_is_refused_with_401(
    mcp_service: RunningService, headers: dict[str, str], reason: str
) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream", **headers}
    answer = httpx.post(mcp_service.mcp_url, json=initialize, headers=accept)
    assert answer.status_code == 401
    assert answer.json()["reason"] == reason

    async def open_session() -> None:
        async with http_session(mcp_service.mcp_url, headers) as client:
            await client.list_tools()

    with pytest.raises(Exception):  # noqa: B017 - the SDK's error type for an HTTP 401 is not the point here
        anyio.run(open_session)


def test_local_file_paths_are_never_read_over_http(
    mcp_service: RunningService, mcp_headers: dict[str, str], tmp_path: Path
) -> None:
    existing = tmp_path / "real.png"
    picture().save(existing)
    result = call(mcp_service, mcp_headers, "post-img2img-inferences", {**TINY, "image": str(existing)})
    assert result.is_error and text_of(result).startswith("local_path_not_allowed: ")


def test_open_mode_serves_loopback_clients_without_a_key(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine, open_mode=True) as open_service:
        result = call(open_service, {}, "get-models-by-model-id", {"modelId": "tiny-sd15"})
    assert not result.is_error and payload(result)["model"]["id"] == "tiny-sd15"


def test_scenarios_deprecated_and_flux_argument_names_are_accepted(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    async def run() -> list[Any]:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            image = payload(await client.call_tool("post-asset", {"name": "i.png", "image": data_url(picture())}))
            ref = payload(await client.call_tool("post-asset", {"name": "r.png", "image": data_url(picture(seed=3))}))
            holes = payload(await client.call_tool("post-asset", {"name": "m.png", "image": data_url(mask())}))
            ids = {"imageId": image["asset"]["id"], "maskId": holes["asset"]["id"]}
            ref_id = ref["asset"]["id"]
            calls = [
                ("post-img2img-ip-adapter-inferences", {**ids, "ipAdapterImageId": ref_id, "ipAdapterScale": 0.4}),
                ("post-inpaint-ip-adapter-inferences", {**ids, "ipAdapterImageIds": [ref_id]}),
                ("post-txt2img-ip-adapter-inferences", {"ipAdapterImage": ref_id, "aspectRatio": "16:9"}),
                (
                    "post-txt2img-inferences",
                    {"negativePromptStrength": 2, "modelId": "tiny-sd15-lora", "baseModelId": "tiny-sd15"},
                ),
            ]
            return [await client.call_tool(tool, {**TINY, **args, "dryRun": True}) for tool, args in calls]

    for result in anyio.run(run):
        assert not result.is_error, text_of(result)
        assert set(payload(result)) == {"creativeUnitsCost"}
    refused = call(mcp_service, mcp_headers, "post-txt2img-inferences", {**TINY, "modelEpoch": "1", "dryRun": True})
    assert refused.is_error and "modelEpoch" in text_of(refused)
