"""The non-generate bodies are typed wire models (service/request_schemas): an unknown field is named in the
answer's `warnings` with the closest known field (strict mode: a 400), /openapi.json documents each body as a
component schema with its fields and bounds, and a bad value is a 400 naming the field, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from diffuserve.engine.engine import Engine
from diffuserve.service.request_schemas import MAX_DELETE, MAX_FILE_BYTES, MAX_PARTS
from tests.service_helpers import data_url, picture, run_service

UPLOAD = {"fileName": "a.png", "contentType": "image/png", "fileSize": 1000, "kind": "image", "parts": 1}


def _asset(**extra: Any) -> dict[str, Any]:
    return {"name": "w.png", "image": data_url(picture(16)), **extra}


def test_unknown_fields_of_an_asset_or_an_upload_are_named_with_the_closest_known_one(client: httpx.Client) -> None:
    stored = client.post("/v1/assets", json=_asset(hidden=True, parent_id="asset_x"))
    assert stored.status_code == 200, stored.text
    warnings = {w["field"]: w for w in stored.json()["warnings"]}
    assert warnings["hidden"]["closest"] == "hide" and warnings["parent_id"]["closest"] == "parentId"
    assert "was ignored" in warnings["hidden"]["message"]
    assert stored.json()["asset"]["id"].startswith("asset_")
    assert "warnings" not in client.post("/v1/assets", json=_asset()).json()

    upload = client.post("/v1/uploads", json={**UPLOAD, "filename": "b.png", "assetOptions": {"hidden": True}})
    assert upload.status_code == 200, upload.text
    warnings = {w["field"]: w for w in upload.json()["warnings"]}
    assert warnings["filename"]["closest"] == "fileName"
    assert warnings["assetOptions.hidden"]["closest"] == "hide"
    dry = client.post("/v1/uploads", params={"dryRun": "true"}, json={**UPLOAD, "size": 3})
    assert dry.status_code == 269 and dry.json()["warnings"][0]["field"] == "size"

    deleted = client.request("DELETE", "/v1/assets", json={"assetIds": [stored.json()["asset"]["id"]], "assetId": "x"})
    assert deleted.status_code == 200 and deleted.json()["warnings"][0]["closest"] == "assetIds"


def test_strict_mode_refuses_unknown_body_fields(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine, open_mode=True, strict_fields=True) as service, service.client() as c:
        for path, body, field in [
            ("/v1/assets", _asset(hidden=True), "hidden"),
            ("/v1/uploads", {**UPLOAD, "assetOptions": {"hidden": True}}, "assetOptions.hidden"),
            ("/v1/keys", {"role": "member", "label": "ci"}, "label"),
        ]:
            refused = c.post(path, json=body)
            assert refused.status_code == 400, refused.text
            assert refused.json()["reason"] == "unknown_field" and refused.json()["field"] == field
        assert c.get("/v1/assets").json()["assets"] == []  # nothing was stored
        assert c.post("/v1/assets", json=_asset()).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/v1/assets", {"image": "AAAA"}, "name", "name is required (the original file name)"),
        ("/v1/assets", _asset(hide="maybe"), "hide", "hide must be a boolean (true or false), got 'maybe'"),
        ("/v1/assets", _asset(name=7), "name", "name must be a string, got int"),
        ("/v1/uploads", {**UPLOAD, "parts": "x"}, "parts", "parts must be an integer, got 'x'"),
        ("/v1/uploads", {**UPLOAD, "fileSize": 10**30}, "fileSize", f"fileSize must be 1 to {MAX_FILE_BYTES} bytes"),
        ("/v1/uploads", {**UPLOAD, "assetOptions": {"collectionIds": "c"}}, "assetOptions.collectionIds", None),
        ("/v1/keys", {"role": "owner"}, "role", "role must be one of admin, member, read-only; got 'owner'"),
        ("/v1/projects", {}, "name", "name is required (the project's name)"),
        ("/sd/text2image/v1", {"prompt": "x", "samples": "many"}, "samples", "samples must be an integer"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    client: httpx.Client, path: str, body: Any, field: str, message: str | None
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["field"] == field and error["reason"] in ("invalid_request", "missing_field", "file_too_large")
    assert message is None or error["message"].startswith(message), error


def test_listing_parameters_are_typed_and_lenient(client: httpx.Client) -> None:
    assert client.get("/v1/jobs", params={"pageSize": "3", "hideResults": "false"}).status_code == 200
    assert client.get("/v1/assets", params=[("types", "uploaded,inference-txt2img"), ("types", "x")]).status_code == 200
    refused = client.get("/v1/jobs", params={"pageSize": "201"}).json()
    assert refused == {"reason": "invalid_request", "message": "pageSize must be an integer in [1, 200], got 201",
                       "field": "pageSize"}  # fmt: skip


def _component(document: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    if "anyOf" in ref:  # an optional body
        ref = next(option for option in ref["anyOf"] if "$ref" in option)
    name = ref["$ref"].rsplit("/", 1)[1]
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_openapi_documents_the_bodies_as_components_with_fields_and_bounds(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    asset = _component(document, "/v1/assets")
    assert {"name", "image", "hide", "parentId"} <= set(asset["properties"]) and asset["required"] == ["name", "image"]
    assert asset["additionalProperties"] is True  # unknown fields are warnings
    upload = _component(document, "/v1/uploads")
    assert set(upload["required"]) == {"kind", "fileName", "contentType", "fileSize", "parts"}
    assert upload["properties"]["fileSize"]["maximum"] == MAX_FILE_BYTES
    assert upload["properties"]["parts"] == {**upload["properties"]["parts"], "minimum": 1, "maximum": MAX_PARTS}
    assert upload["properties"]["kind"]["enum"] == ["image", "asset"]
    deleted = _component(document, "/v1/assets", "delete")
    assert deleted["properties"]["assetIds"]["maxItems"] == MAX_DELETE
    assert _component(document, "/v1/jobs/{jobId}/action")["properties"]["action"]["enum"] == ["cancel"]
    assert _component(document, "/v1/uploads/{uploadId}/action")["required"] == ["action"]
    assert "targetFormat" in _component(document, "/v1/assets/{assetId}/download")["properties"]
    assert _component(document, "/v1/keys")["properties"]["role"]["enum"] == ["admin", "member", "read-only"]
    pipeline = _component(document, "/sd/text2image/v1")["properties"]
    assert pipeline["samples"]["maximum"] == 4 and pipeline["guidance_scale"]["minimum"] == 1
    page_size = next(p for p in document["paths"]["/v1/assets"]["get"]["parameters"] if p["name"] == "pageSize")
    assert page_size["schema"]["maximum"] == 100


def test_the_model_listing_pages_and_filters_as_scenario_documents(client: httpx.Client) -> None:
    everything = client.get("/v1/models").json()
    ids = [m["id"] for m in everything["models"]]
    assert len(ids) > 3 and "nextPaginationToken" not in everything  # the default page (100) holds them all
    first = client.get("/v1/models", params={"pageSize": "2"}).json()
    assert [m["id"] for m in first["models"]] == ids[:2] and first["nextPaginationToken"] == ids[2]
    walked: list[str] = []
    token: str | None = None
    while True:
        params = {"pageSize": 3, **({"paginationToken": token} if token else {})}
        page = client.get("/v1/models", params=params).json()
        walked += [m["id"] for m in page["models"]]
        token = page.get("nextPaginationToken")
        if not token:
            break
    assert walked == ids
    assert client.get("/v1/models", params={"status": "trained", "loadedOnly": "true"}).json()["models"]
    assert client.get("/v1/models", params={"privacy": "public"}).json()["models"] == []
    assert client.get("/v1/models", params={"collectionId": "c1"}).json()["models"] == []
    for params, field in (
        ({"pageSize": "501"}, "pageSize"),
        ({"privacy": "shared"}, "privacy"),
        ({"paginationToken": "no-such-model"}, "paginationToken"),
    ):
        response = client.get("/v1/models", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["field"] == field and response.json()["message"]
