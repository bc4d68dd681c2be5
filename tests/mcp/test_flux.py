"""FLUX over MCP: post-generate-custom runs tiny-flux (txt2img with true CFG, Kontext img2img) and words FLUX's
rules as REST does."""

from __future__ import annotations

from typing import Any

import anyio

from tests.mcp.helpers import api_url, http_session, payload, text_of
from tests.service_helpers import RunningService, data_url, picture

FLUX = {"prompt": "a red fox", "width": 128, "height": 128, "numInferenceSteps": 2, "numSamples": 1}


def call(service: RunningService, headers: dict[str, str], arguments: dict[str, Any]) -> Any:
    async def run() -> Any:
        async with http_session(api_url(service), headers) as client:
            return await client.call_tool("post-generate-custom", {**arguments, "waitSeconds": 300})

    return anyio.run(run)


def test_flux_runs_and_explains_its_rules(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    result = call(
        mcp_service,
        mcp_headers,
        {**FLUX, "modelId": "tiny-flux", "negativePrompt": "blurry", "negativePromptStrength": 1.5},
    )
    assert not result.is_error, text_of(result)
    body = payload(result)
    assert body["job"]["status"] == "success"
    assert body["job"]["metadata"]["input"]["negativePromptStrength"] == 1.5
    edit = call(mcp_service, mcp_headers, {**FLUX, "modelId": "tiny-flux-kontext", "image": data_url(picture(128))})
    assert not edit.is_error, text_of(edit)
    assert payload(edit)["job"]["metadata"]["input"]["type"] == "img2img"
    refused = call(mcp_service, mcp_headers, {**FLUX, "modelId": "tiny-flux", "negativePrompt": "blurry"})
    assert refused.is_error and "negativePromptStrength > 0" in text_of(refused)
