"""The MCP tools that take a REST body are built on the same wire model (service/request_schemas): the same
property names and required fields, the same error text for the same bad body, the same warnings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from diffuserve.mcp.json_schema import input_schema
from diffuserve.mcp.schemas import JobActionArguments, PostAssetArguments
from diffuserve.service.request_schemas import AssetCreate, JobAction
from tests.mcp.helpers import payload, text_of
from tests.mcp.test_http import call
from tests.service_helpers import RunningService, data_url, picture

SHARED = [(PostAssetArguments, AssetCreate, {"originalAssets"}), (JobActionArguments, JobAction, {"jobId"})]


@pytest.mark.parametrize(("arguments", "body", "extra"), SHARED)
def test_the_post_asset_and_job_action_tools_take_the_rest_bodies(
    arguments: type[BaseModel], body: type[BaseModel], extra: set[str]
) -> None:
    schema, rest = input_schema(arguments), body.model_json_schema()
    assert set(schema["properties"]) == set(rest["properties"]) | extra
    assert set(rest["required"]) <= set(schema["required"])
    for name, prop in rest["properties"].items():
        if "anyOf" not in prop:  # optional fields lose their null alternative in a tool schema
            assert schema["properties"][name] == {k: v for k, v in prop.items() if k != "title"}, name


@pytest.mark.parametrize(
    "body",
    [
        {"image": "AAAA"},
        {"name": "x.png", "image": "AAAA", "hide": "maybe"},
        {"name": "x.png", "image": "AAAA", "parentId": 3},
        {"name": "x.png", "image": "data:image/png;base64,AAAA"},
    ],
)
def test_post_asset_answers_a_bad_body_as_rest_does(
    mcp_service: RunningService, mcp_headers: dict[str, str], body: dict[str, Any]
) -> None:
    with httpx.Client(base_url=mcp_service.base_url, headers=mcp_headers, timeout=30) as rest:
        answer = rest.post("/v1/assets", json=body)
    assert answer.status_code == 400, answer.text
    result = call(mcp_service, mcp_headers, "post-asset", body)
    assert result.is_error
    assert text_of(result).startswith(f"{answer.json()['reason']}: {answer.json()['message']}"), text_of(result)


def test_post_asset_names_unknown_arguments_as_rest_does(
    mcp_service: RunningService, mcp_headers: dict[str, str]
) -> None:
    arguments = {"name": "w.png", "image": data_url(picture(16)), "hidden": 1}
    result = call(mcp_service, mcp_headers, "post-asset", arguments)
    assert not result.is_error, text_of(result)
    (warning,) = payload(result)["warnings"]
    assert warning["field"] == "hidden" and warning["closest"] == "hide"


def test_job_action_refuses_what_rest_refuses(mcp_service: RunningService, mcp_headers: dict[str, str]) -> None:
    with httpx.Client(base_url=mcp_service.base_url, headers=mcp_headers, timeout=30) as rest:
        answer = rest.post("/v1/jobs/job_nope/action", json={"action": "pause"}).json()
    result = call(mcp_service, mcp_headers, "post-job-action-by-job-id", {"jobId": "job_nope", "action": "pause"})
    assert text_of(result).startswith(f"{answer['reason']}: {answer['message']}")
