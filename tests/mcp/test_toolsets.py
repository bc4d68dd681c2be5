"""Which tools a connection sees: `?toolsets=` per connection, the task-level default, refusals, and what each
toolset costs an agent's context in tools/list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp_types import Tool

from diffuserve.engine.engine import Engine
from diffuserve.mcp.task_schemas import IGNORED_ARGUMENTS
from tests.mcp.helpers import basic, http_session
from tests.mcp.test_tool_list import TOOL_NAMES as API_TOOLS
from tests.mcp.test_tool_list import walk
from tests.service_helpers import RunningService, run_service

TASK_TOOLS = {
    "search",
    "model_schema_get",
    "model_run",
    "jobs_wait",
    "job_get",
    "jobs_list",
    "job_cancel",
    "asset_display",
    "asset_get",
    "asset_download",
    "upload_asset",
    "upload_asset_complete",
}
# Over HTTP asset_download only signs a URL; over stdio it may write a file (save_to).
READS = {
    "search",
    "model_schema_get",
    "jobs_wait",
    "job_get",
    "jobs_list",
    "asset_display",
    "asset_get",
    "asset_download",
}
# What tools/list may cost an agent's context: the task-level default is meant to stay small.
MAX_DEFAULT_BYTES = 16 * 1024


def listing(service: RunningService, headers: dict[str, str], query: str = "") -> tuple[list[Tool], str | None]:
    async def run() -> tuple[list[Tool], str | None]:
        async with http_session(service.mcp_url + query, headers) as client:
            return (await client.list_tools()).tools, client.instructions

    return anyio.run(run)


def wire_bytes(tools: list[Tool]) -> int:
    """The size of the tools/list result as it travels (compact JSON, wire field names)."""
    dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    return len(json.dumps({"tools": dumped}, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", TASK_TOOLS),
        ("?toolsets=default", TASK_TOOLS),
        ("?toolsets=scenario-api", API_TOOLS),
        ("?toolsets=full", TASK_TOOLS | API_TOOLS),
        ("?toolsets=default,scenario-api", TASK_TOOLS | API_TOOLS),
        ("?toolsets=Scenario-API&toolsets=default", TASK_TOOLS | API_TOOLS),
        ("?toolsets=", TASK_TOOLS),
    ],
)
def test_the_query_string_picks_the_tools_of_the_connection(
    mcp_service: RunningService, mcp_headers: dict[str, str], query: str, expected: set[str]
) -> None:
    tools, instructions = listing(mcp_service, mcp_headers, query)
    assert {tool.name for tool in tools} == expected
    assert ("jobs_wait" in (instructions or "")) == ("jobs_wait" in expected)
    assert ("get-job-id" in (instructions or "")) == ("get-job-id" in expected)


def test_the_toolsets_of_a_connection_that_names_none_come_from_the_settings(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine, mcp_toolsets="scenario-api") as service:
        key = service.services.keys.create()
        bare, _ = listing(service, basic(key.key, key.secret))
        named, _ = listing(service, basic(key.key, key.secret), "?toolsets=default")
    assert {tool.name for tool in bare} == API_TOOLS
    assert {tool.name for tool in named} == TASK_TOOLS


def test_a_tool_of_another_toolset_cannot_be_called(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    async def run() -> Any:
        async with http_session(mcp_service.mcp_url, mcp_headers) as client:
            return await client.call_tool("get-models", {})

    try:
        result = anyio.run(run)
    except Exception as exc:  # the SDK may raise the protocol error instead of returning it
        assert "get-models" in str(exc)
    else:
        assert result.is_error


@pytest.mark.parametrize("query", ["?toolsets=nope", "?toolsets=default,everything"])
def test_an_unknown_toolset_is_refused_with_400(
    mcp_service: RunningService, mcp_headers: dict[str, str], query: str
) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream", **mcp_headers}
    answer = httpx.post(mcp_service.mcp_url + query, json=initialize, headers=headers)
    assert answer.status_code == 400
    body = answer.json()
    assert body["reason"] == "unknown_toolset" and "default, scenario-api, full" in body["message"]
    assert httpx.post(mcp_service.mcp_url + query, json=initialize).status_code == 401  # credentials come first


def test_tools_list_size_per_toolset(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    sizes = {}
    for name in ("default", "scenario-api", "full"):
        tools, _ = listing(mcp_service, mcp_headers, f"?toolsets={name}")
        sizes[name] = (len(tools), wire_bytes(tools))
    for name, (count, size) in sizes.items():
        print(f"tools/list toolsets={name}: {count} tools, {size} bytes ({size / 1024:.1f} KiB)")
    assert sizes["default"][1] <= MAX_DEFAULT_BYTES
    assert sizes["default"][1] * 5 < sizes["scenario-api"][1]
    assert sizes["full"][1] == pytest.approx(sizes["default"][1] + sizes["scenario-api"][1], abs=16)


def test_task_tool_schemas_are_typed_described_bounded_and_snake_case(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    tools, _ = listing(mcp_service, mcp_headers)
    for tool in tools:
        schema = tool.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False, tool.name
        assert "anyOf" not in str(schema) and "$ref" not in str(schema), tool.name
        assert 80 <= len(tool.description or "") <= 700 and tool.title, tool.name
        assert not set(schema["properties"]) & IGNORED_ARGUMENTS, tool.name  # accepted, never advertised
        for path, prop in walk(schema):
            where = f"{tool.name}.{path}"
            assert path.replace(".", "").replace("[]", "").replace("_", "").islower(), where
            assert prop.get("type") in ("string", "integer", "number", "boolean", "array", "object"), where
            assert len(prop.get("description", "")) >= 10, where
            if prop["type"] in ("integer", "number"):
                assert "minimum" in prop and "maximum" in prop, where
        annotations = tool.annotations
        assert annotations is not None and annotations.read_only_hint is (tool.name in READS), tool.name
    by_name = {tool.name: tool.input_schema for tool in tools}
    assert by_name["model_run"]["required"] == ["model_id"]
    assert by_name["jobs_wait"]["properties"]["job_ids"]["maxItems"] == 32
    assert by_name["upload_asset"]["required"] == ["file_name"]
    assert "save_to" not in by_name["asset_download"]["properties"]  # over HTTP the server cannot write your files
    assert "path" not in by_name["upload_asset"]["properties"]
