"""Each of the six modes end to end over HTTP: submit, poll to success, fetch every asset; objects match the spec."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.service_helpers import assert_matches, data_url, mask, open_png, picture, wait_for

RESPONSE_DEFINITION = {
    "txt2img": "PostTxt2imgInferencesResponse",
    "txt2img-ip-adapter": "PostTxt2imgIpAdapterInferencesResponse",
    "img2img": "PostImg2imgInferencesResponse",
    "img2img-ip-adapter": "PostImg2imgIpAdapterInferencesResponse",
    "inpaint": "PostInpaintInferencesResponse",
    "inpaint-ip-adapter": "PostInpaintIpAdapterInferencesResponse",
}


def body_for(mode: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "modelId": "tiny-sd15",
        "prompt": "a red fox",
        "numSamples": 2,
        "numInferenceSteps": 2,
        "width": 64,
        "height": 64,
        "seed": "1234",
    }
    if mode.startswith(("img2img", "inpaint")):
        body["image"] = data_url(picture())
        body["strength"] = 0.8
    if mode.startswith("inpaint"):
        body["mask"] = data_url(mask())
    if mode.endswith("ip-adapter"):
        body["ipAdapterImages"] = [data_url(picture(seed=3))]
        body["ipAdapterScales"] = [0.5]
    return {**body, **extra}


@pytest.mark.parametrize("mode", list(RESPONSE_DEFINITION))
def test_each_mode_runs_to_success_and_its_assets_are_fetchable(client: httpx.Client, mode: str) -> None:
    response = client.post(f"/v1/generate/{mode}", json=body_for(mode))
    assert response.status_code == 200, response.text
    posted = response.json()
    assert_matches(RESPONSE_DEFINITION[mode], posted)
    assert posted["job"]["status"] == "queued"
    assert posted["inference"]["type"] == mode.replace("-", "_")
    assert posted["inference"]["seed"] == "1234"
    if mode != "txt2img" and not mode.startswith("txt2img"):
        assert posted["inference"]["imageId"].startswith("asset_")
        assert client.get(posted["inference"]["image"], auth=None).status_code == 200

    job = wait_for(client, posted["job"]["jobId"])
    assert job["status"] == "success", job
    assert_matches("GetJobIdResponse", {"job": job})
    assert job["progress"] == 1.0
    history = [h["status"] for h in job["statusHistory"]]
    assert history[0] == "queued" and history[-2:] == ["finalizing", "success"]
    assert "in-progress" in history
    assert len(job["metadata"]["assetIds"]) == 2

    for index, asset_id in enumerate(job["metadata"]["assetIds"]):
        got = client.get(f"/v1/assets/{asset_id}")
        assert got.status_code == 200
        assert_matches("GetAssetsByAssetIdResponse", got.json())
        asset = got.json()["asset"]
        assert asset["metadata"]["type"] == f"inference-{mode}"
        assert asset["metadata"]["seed"] == str(1234 + index)
        assert asset["metadata"]["inferenceId"] == job["jobId"]
        assert asset["metadata"]["modelId"] == "tiny-sd15"
        assert asset["outputIndex"] == index
        content = httpx.get(asset["url"])  # signed URL: no credentials
        assert content.status_code == 200
        assert content.headers["content-type"] == "image/png"
        assert open_png(content.content).size == (64, 64)
        assert asset["properties"] == {"size": len(content.content), "width": 64, "height": 64}
        if mode != "txt2img" and not mode.startswith("txt2img"):
            assert asset["metadata"]["parentId"] == job["metadata"]["input"]["imageId"]


def test_sdxl_model_runs_at_its_minimum_size(client: httpx.Client) -> None:
    body = {
        "modelId": "tiny-sdxl",
        "prompt": "a castle",
        "numSamples": 1,
        "numInferenceSteps": 1,
        "width": 512,
        "height": 512,
    }
    posted = client.post("/v1/generate/txt2img", json=body).json()
    job = wait_for(client, posted["job"]["jobId"])
    assert job["status"] == "success", job
    asset = client.get(f"/v1/assets/{job['metadata']['assetIds'][0]}").json()["asset"]
    assert (asset["properties"]["width"], asset["properties"]["height"]) == (512, 512)
    assert asset["metadata"]["modelType"] == "sd-xl"


def test_models_list_and_get_match_the_spec(client: httpx.Client) -> None:
    listed = client.get("/v1/models")
    assert listed.status_code == 200
    assert_matches("GetModelsResponse", listed.json())
    ids = {m["id"] for m in listed.json()["models"]}
    assert {"tiny-sd15", "tiny-sdxl", "tiny-sd15-lora"} <= ids
    model = client.get("/v1/models/tiny-sd15-lora").json()
    assert_matches("GetModelsByModelIdResponse", model)
    assert model["model"]["type"] == "sd-1_5-lora"
    assert model["model"]["status"] == "trained"
    assert model["model"]["compliantModelIds"]
    assert client.get("/v1/models/nope").status_code == 404


def test_openapi_document_and_docs_are_served(service: Any) -> None:
    with service.client() as c:
        spec = c.get("/openapi.json").json()
        assert "/v1/generate/img2img" in spec["paths"]
        assert "/sdxl/text2image/v1" in spec["paths"]
        assert c.get("/docs").status_code == 200
