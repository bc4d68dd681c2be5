"""Every mode of both tiny FLUX families over MCP (HTTP, the SDK's real client): each generate tool runs on
tiny-flux (FLUX.1: six modes) and tiny-flux2 / tiny-flux2-dev (FLUX.2: txt2img, img2img and multi-reference
editing), and a mode FLUX.2 does not have is a tool error naming the model's capabilities."""

from __future__ import annotations

from typing import Any

import anyio

from tests.mcp.helpers import api_url, http_session, payload, text_of
from tests.service_helpers import RunningService, data_url, mask, picture

SIZE = 128
FLUX1_MODES = ("txt2img", "txt2img-ip-adapter", "img2img", "img2img-ip-adapter", "inpaint", "inpaint-ip-adapter")
FLUX2_MODES = ("txt2img", "txt2img-ip-adapter", "img2img", "img2img-ip-adapter")


def arguments(model_id: str, mode: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "modelId": model_id,
        "prompt": "a red fox",
        "numSamples": 1,
        "numInferenceSteps": 2,
        "width": SIZE,
        "height": SIZE,
        "seed": "5",
        "waitSeconds": 300,
    }
    if mode.startswith(("img2img", "inpaint")):
        args["image"] = data_url(picture(SIZE))
    if mode.startswith("inpaint"):
        args["mask"] = data_url(mask(SIZE))
    if mode.endswith("ip-adapter"):
        args["ipAdapterImages"] = [data_url(picture(64, seed=s)) for s in (3, 4)]
    return args


def tool(mode: str) -> str:
    return f"post-{mode}-inferences"


def run_all(service: RunningService, headers: dict[str, str], calls: list[tuple[str, str]]) -> list[Any]:
    async def run() -> list[Any]:
        async with http_session(api_url(service), headers) as client:
            return [await client.call_tool(tool(mode), arguments(model, mode)) for model, mode in calls]

    return anyio.run(run)


def test_every_mode_of_both_flux_families_runs_over_mcp(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    calls = [("tiny-flux", m) for m in FLUX1_MODES] + [("tiny-flux2", m) for m in FLUX2_MODES]
    calls += [("tiny-flux2-dev", "txt2img"), ("tiny-flux2-dev", "img2img-ip-adapter")]
    for (model, mode), result in zip(calls, run_all(mcp_service, mcp_headers, calls), strict=True):
        assert not result.is_error, f"{model} {mode}: {text_of(result)}"
        job = payload(result)["job"]
        assert job["status"] == "success", (model, mode, job)
        assert job["metadata"]["input"]["modelId"] == model
        assert len(job["metadata"]["assetIds"]) == 1
        if model.startswith("tiny-flux2") and mode.endswith("ip-adapter"):
            assert job["metadata"]["input"]["ipAdapterScales"] == [1.0, 1.0]  # two references, unweighted


def test_a_mode_flux2_lacks_is_a_tool_error(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    (result,) = run_all(mcp_service, mcp_headers, [("tiny-flux2", "inpaint")])
    assert result.is_error
    assert "tiny-flux2" in text_of(result) and "inpaint" in text_of(result)
