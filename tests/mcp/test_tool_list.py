"""The tool list a client sees: Scenario's names, complete JSON Schemas, descriptions an agent can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import Tool

from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from tests.mcp.helpers import api_url, http_session
from tests.service_helpers import RunningService

TOOL_NAMES = {
    "post-txt2img-inferences",
    "post-txt2img-ip-adapter-inferences",
    "post-img2img-inferences",
    "post-img2img-ip-adapter-inferences",
    "post-inpaint-inferences",
    "post-inpaint-ip-adapter-inferences",
    "post-generate-custom",
    "get-job-id",
    "post-job-action-by-job-id",
    "get-jobs",
    "get-assets-by-asset-id",
    "get-assets",
    "post-asset",
    "get-models",
    "get-models-by-model-id",
}
REQUIRED = {
    "post-txt2img-inferences": ["modelId", "prompt"],
    # Scenario's schemas require only these; images have deprecated alternatives (imageId, maskId, ...).
    "post-txt2img-ip-adapter-inferences": ["modelId", "prompt"],
    "post-img2img-inferences": ["modelId", "prompt"],
    "post-img2img-ip-adapter-inferences": ["modelId", "prompt"],
    "post-inpaint-inferences": ["modelId", "prompt"],
    "post-inpaint-ip-adapter-inferences": ["modelId", "prompt"],
    "post-generate-custom": ["modelId", "prompt"],
    "get-job-id": ["jobId"],
    "post-job-action-by-job-id": ["jobId", "action"],
    "get-assets-by-asset-id": ["assetId"],
    "post-asset": ["name", "image"],
    "get-models-by-model-id": ["modelId"],
}


@pytest.fixture(scope="module")
def tools(mcp_service: RunningService, mcp_headers: dict[str, str]) -> dict[str, Tool]:
    async def run() -> list[Tool]:
        async with http_session(api_url(mcp_service), mcp_headers) as client:
            return (await client.list_tools()).tools

    return {tool.name: tool for tool in anyio.run(run)}


REST_BODIES = {"post-asset", "post-job-action-by-job-id"}


def walk(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every (path, property schema) in a schema, nested objects and array items included."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, prop in schema.get("properties", {}).items():
        found.append((f"{path}{name}", prop))
        found += walk(prop, f"{path}{name}.")
        if isinstance(prop.get("items"), dict):
            found += walk(prop["items"], f"{path}{name}[].")
    return found


def test_the_fifteen_scenario_tools_are_listed(tools: dict[str, Tool]) -> None:
    assert set(tools) == TOOL_NAMES


def test_every_property_is_typed_described_and_numbers_are_bounded(tools: dict[str, Tool]) -> None:
    for tool in tools.values():
        schema = tool.input_schema
        # Tools that take a REST body keep unknown arguments as warnings (as REST does); the others refuse them.
        open_body = tool.name.endswith("-inferences") or tool.name in REST_BODIES
        assert schema["type"] == "object" and schema["additionalProperties"] is open_body, tool.name
        assert sorted(schema.get("required", [])) == sorted(REQUIRED.get(tool.name, [])), tool.name
        text = str(schema)
        assert "anyOf" not in text and "oneOf" not in text and "$ref" not in text, tool.name
        for path, prop in walk(schema):
            where = f"{tool.name}.{path}"
            assert prop.get("type") in ("string", "integer", "number", "boolean", "array", "object"), where
            assert len(prop.get("description", "")) >= 10, where
            if prop["type"] in ("integer", "number"):
                assert "minimum" in prop and "maximum" in prop, where
            if prop["type"] == "array":
                assert prop["items"].get("type"), where


def test_generate_schemas_carry_defaults_bounds_and_enums(tools: dict[str, Tool]) -> None:
    props = tools["post-inpaint-ip-adapter-inferences"].input_schema["properties"]
    assert props["numSamples"]["default"] == 4 and props["numSamples"]["maximum"] == 128
    assert props["strength"] == {**props["strength"], "default": 0.75, "minimum": 0.01, "maximum": 1.0}
    assert props["width"]["multipleOf"] == 8
    assert props["scheduler"]["enum"] == list(SCHEDULER_NAMES)
    assert props["ipAdapterType"]["enum"] == ["style", "character"]
    assert props["ipAdapterScales"]["items"] == {"type": "number", "minimum": 0.0, "maximum": 1.0}
    assert props["waitSeconds"]["default"] == 50
    assert "WHITE" in props["mask"]["description"]
    assert "strength" not in tools["post-txt2img-inferences"].input_schema["properties"]


def test_descriptions_tell_an_agent_behaviour_results_errors_and_when_to_use_which(tools: dict[str, Tool]) -> None:
    for name in TOOL_NAMES:
        assert len(tools[name].description or "") > 300, name
        assert tools[name].title, name
    for name in (n for n in TOOL_NAMES if n.startswith("post-") and n.endswith("-inferences")):
        text = tools[name].description or ""
        for needle in ("USE WHEN", "BEHAVIOUR", "RETURNS", "ERRORS", "get-job-id", "numSamples", "dryRun"):
            assert needle in text, (name, needle)
        annotations = tools[name].annotations
        assert annotations is not None and annotations.idempotent_hint is False
    reads = ("get-job-id", "get-jobs", "get-assets", "get-assets-by-asset-id", "get-models", "get-models-by-model-id")
    for name in reads:
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint is True, name


def test_every_field_of_scenarios_schema_is_an_argument_of_its_tool(tools: dict[str, Tool]) -> None:
    spec = json.loads((Path(__file__).parents[1] / "spec" / "scenario-openapi-subset.json").read_text())
    for path, item in spec["paths"].items():
        if not path.startswith("/generate/"):
            continue
        body = next(p for p in item["post"]["parameters"] if p["in"] == "body")
        schema = spec["definitions"][body["schema"]["$ref"].rsplit("/", 1)[1]]
        tool = tools[f"post-{path.removeprefix('/generate/')}-inferences"]
        properties = tool.input_schema["properties"]
        assert set(schema["properties"]) <= set(properties), (tool.name, set(schema["properties"]) - set(properties))
        concept = properties["concepts"]["items"]["properties"]
        assert {"modelId", "scale", "modelEpoch"} <= set(concept)
