"""post-generate-custom over streamable HTTP with the MCP SDK's client: the REST custom body as arguments, the
mode picked by the inputs given, waiting with progress like the other generate tools, errors worded as REST's."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from tests.mcp.helpers import ProgressLog, api_url, assert_preview_images, http_session, payload, text_of
from tests.service_helpers import RunningService, data_url, mask, picture

TOOL = "post-generate-custom"
TINY = {"modelId": "tiny-sd15", "prompt": "a red fox", "width": 64, "height": 64, "numInferenceSteps": 2}


def call(service: RunningService, headers: dict[str, str], arguments: dict[str, Any], **kwargs: Any) -> Any:
    async def run() -> Any:
        async with http_session(api_url(service), headers) as client:
            return await client.call_tool(TOOL, arguments, **kwargs)

    return anyio.run(run)


def test_the_tool_lists_every_input_with_modelid_and_prompt_required(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    async def run() -> Any:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    tool = anyio.run(run)[TOOL]
    schema = tool.input_schema
    assert schema["required"] == ["modelId", "prompt"] and schema["additionalProperties"] is False
    props = schema["properties"]
    assert list(props)[:2] == ["modelId", "prompt"] and list(props)[-3:] == ["dryRun", "originalAssets", "waitSeconds"]
    assert {"image", "mask", "ipAdapterImages", "strength", "concepts", "baseModelId"} <= set(props)
    assert props["width"] == {**props["width"], "type": "integer", "minimum": 64, "maximum": 2048, "multipleOf": 8}
    assert props["ipAdapterScales"]["items"] == {"type": "number", "minimum": 0.0, "maximum": 1.0}
    assert props["concepts"]["items"]["required"] == ["modelId", "scale"]
    assert "USE WHEN" in (tool.description or "") and tool.annotations.idempotent_hint is False


@pytest.mark.parametrize(
    ("extra", "mode"),
    [
        ({}, "txt2img"),
        ({"image": "IMAGE", "mask": "MASK", "ipAdapterImages": ["REF"], "strength": 0.8}, "inpaint_ip_adapter"),
    ],
)
def test_the_inputs_pick_the_mode_and_the_tool_waits_for_the_images(
    mcp_service: RunningService, mcp_headers: dict[str, str], extra: dict[str, Any], mode: str
) -> None:
    images = {"IMAGE": data_url(picture()), "MASK": data_url(mask()), "REF": data_url(picture(seed=3))}
    arguments = {**TINY, "numSamples": 2}
    for name, value in extra.items():
        arguments[name] = [images[v] for v in value] if isinstance(value, list) else images.get(value, value)
    progress = ProgressLog()
    result = call(mcp_service, mcp_headers, arguments, progress_callback=progress)
    assert not result.is_error, text_of(result)
    body = payload(result)
    assert body["job"]["status"] == "success"
    assert body["job"]["metadata"]["input"]["type"] == mode
    assert body["creativeUnitsCost"] == 2
    assert [i["assetId"] for i in body["images"]] == body["job"]["metadata"]["assetIds"]
    assert_preview_images(result, 2)
    assert httpx.get(body["images"][0]["url"]).status_code == 200
    progress.assert_increasing_to_done()


def test_dry_run_and_bad_inputs(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    priced = call(mcp_service, mcp_headers, {**TINY, "dryRun": True, "strength": 0.5})
    assert not priced.is_error, text_of(priced)
    assert payload(priced)["creativeUnitsCost"] == 4  # numSamples defaults to 4, as over REST
    assert payload(priced)["warnings"][0]["field"] == "strength"
    unknown = call(mcp_service, mcp_headers, {**TINY, "steps": 20})
    assert unknown.is_error and text_of(unknown).startswith("unknown_input: steps is not an input of model")
    assert "Did you mean numInferenceSteps?" in text_of(unknown)
    with httpx.Client(base_url=mcp_service.base_url, headers=mcp_headers) as rest:
        answer = rest.post("/v1/generate/custom/tiny-sd15", json={**TINY, "width": 65}).json()
    refused = call(mcp_service, mcp_headers, {**TINY, "width": 65})
    assert refused.is_error and text_of(refused).startswith(f"{answer['reason']}: {answer['message']}")
    missing = call(mcp_service, mcp_headers, {"prompt": "a fox"})
    assert missing.is_error and text_of(missing).startswith("missing_field: modelId is required")
