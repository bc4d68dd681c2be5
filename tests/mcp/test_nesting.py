"""Deeply nested JSON in tool arguments (as JSON text, or as the arguments themselves) is a clear tool error,
never internal_error from a RecursionError."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from diffuserve.mcp.registration import MAX_NESTING
from tests.mcp.helpers import api_url, http_session, text_of
from tests.service_helpers import RunningService

TINY = {"modelId": "tiny-sd15", "prompt": "a fox", "width": 64, "height": 64, "numInferenceSteps": 1}
DEEP_ARRAY_TEXT = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT_TEXT = '{"a":' * 100_000 + "1" + "}" * 100_000


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


CASES = [
    ("scenario-api", "post-txt2img-inferences", {**TINY, "concepts": DEEP_ARRAY_TEXT}, "concepts"),
    ("scenario-api", "post-generate-custom", {**TINY, "concepts": DEEP_OBJECT_TEXT}, "concepts"),
    ("default", "model_run", {"model_id": "tiny-sd15", "parameters": DEEP_OBJECT_TEXT}, "parameters"),
    ("default", "model_run", {"model_id": "tiny-sd15", "parameters": _nested(MAX_NESTING + 20)}, "parameters"),
    ("default", "jobs_wait", {"job_ids": DEEP_ARRAY_TEXT}, "job_ids"),
]


@pytest.mark.parametrize(("toolset", "tool", "arguments", "field"), CASES, ids=[f"{c[1]}-{c[3]}" for c in CASES])
def test_deeply_nested_arguments_are_a_tool_error_naming_the_field(
    mcp_service: RunningService, mcp_headers: dict[str, str], toolset: str, tool: str, arguments: Any, field: str
) -> None:
    url = api_url(mcp_service) if toolset == "scenario-api" else mcp_service.mcp_url

    # A plain call afterwards: the session and the server go on.
    follow_up = ("get-models", {}) if toolset == "scenario-api" else ("search", {"target": "models", "query": "tiny"})

    async def run() -> Any:
        async with http_session(url, mcp_headers) as client:
            return await client.call_tool(tool, arguments), await client.call_tool(*follow_up)

    refused, after = anyio.run(run)
    assert refused.is_error
    assert text_of(refused).startswith(f"too_deeply_nested: {field} is nested too deeply"), text_of(refused)[:300]
    assert not after.is_error
