"""Every field of Scenario's generate schemas: honoured, or checked with a clear 400; unknown fields are named
(with the closest known one) instead of dropped in silence, and strict mode refuses them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageFilter

from diffuserve.engine.engine import Engine
from tests.api.test_generate_modes import body_for
from tests.service_helpers import data_url, mask, picture, run_service, wait_for


def post(client: httpx.Client, mode: str, **extra: Any) -> httpx.Response:
    return client.post(f"/v1/generate/{mode}", json=body_for(mode, numSamples=1, **extra))


def assert_400(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    return body


def test_unknown_fields_are_named_with_the_closest_known_one(client: httpx.Client) -> None:
    response = post(
        client, "txt2img", steps=20, guidence=3, concepts=[{"modelId": "tiny-sd15-lora", "scale": 1, "weight": 2}]
    )
    assert response.status_code == 200, response.text
    warnings = {w["field"]: w for w in response.json()["warnings"]}
    assert warnings["steps"]["closest"] == "numInferenceSteps"
    assert warnings["guidence"]["closest"] == "guidance"
    assert warnings["concepts[0].weight"]["closest"] == "scale"
    assert "was ignored" in warnings["steps"]["message"]
    assert "warnings" not in post(client, "txt2img").json()


def test_strict_mode_refuses_unknown_fields(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine, open_mode=True, strict_fields=True) as service, service.client() as c:
        body = assert_400(post(c, "img2img", steps=20), "steps")
        assert body["reason"] == "unknown_field" and "numInferenceSteps" in body["message"]
        assert post(c, "img2img").status_code == 200


@pytest.mark.parametrize(
    ("mode", "extra", "field"),
    [
        ("txt2img", {"negativePromptStrength": 11}, "negativePromptStrength"),
        ("img2img", {"negativePromptStrength": -1}, "negativePromptStrength"),
        ("txt2img", {"aspectRatio": "7:3"}, "aspectRatio"),
        ("txt2img", {"baseModelId": "not-a-compliant-model"}, "baseModelId"),  # tiny-sd15 is not a LoRA
        ("txt2img", {"modelId": "tiny-sd15-lora", "baseModelId": "tiny-sdxl"}, "baseModelId"),
        ("txt2img", {"modelEpoch": "000001"}, "modelEpoch"),
        (
            "img2img",
            {"concepts": [{"modelId": "tiny-sd15-lora", "scale": 1, "modelEpoch": "2"}]},
            "concepts[0].modelEpoch",
        ),
        ("img2img", {"imageParentId": "asset_doesnotexist0000000"}, "imageParentId"),
    ],
)
def test_flux_and_lineage_fields_are_checked(
    client: httpx.Client, mode: str, extra: dict[str, Any], field: str
) -> None:
    def newest() -> list[str]:
        return [j["jobId"] for j in client.get("/v1/jobs", params={"pageSize": 1}).json()["jobs"]]

    before = newest()
    assert_400(post(client, mode, **extra), field)
    assert newest() == before  # nothing queued


def test_valid_flux_fields_are_accepted_and_kept_with_the_job(client: httpx.Client) -> None:
    response = post(client, "txt2img", negativePromptStrength=2.5, aspectRatio="16:9", negativePrompt="blurry")
    assert response.status_code == 200, response.text
    stored = response.json()["job"]["metadata"]["input"]
    assert stored["negativePromptStrength"] == 2.5 and stored["aspectRatio"] == "16:9"


def test_base_model_id_runs_a_lora_on_that_base(client: httpx.Client) -> None:
    response = post(client, "txt2img", modelId="tiny-sd15-lora", baseModelId="tiny-sd15")
    assert response.status_code == 200, response.text
    job = wait_for(client, response.json()["job"]["jobId"])
    assert job["status"] == "success" and job["metadata"]["input"]["baseModelId"] == "tiny-sd15"


def test_image_parent_id_of_an_existing_asset_is_recorded(client: httpx.Client) -> None:
    parent = client.post("/v1/assets", json={"name": "p.png", "image": data_url(picture())}).json()["asset"]["id"]
    response = post(client, "img2img", imageParentId=parent)
    assert response.status_code == 200, response.text
    image_id = response.json()["job"]["metadata"]["input"]["imageId"]
    children = client.get("/v1/assets", params={"parentAssetId": parent}).json()["assets"]
    assert [a["id"] for a in children] == [image_id]


def _image(client: httpx.Client, job: dict[str, Any]) -> np.ndarray:
    asset = client.get(f"/v1/assets/{job['metadata']['assetIds'][0]}").json()["asset"]
    return np.asarray(
        Image.open(io.BytesIO(httpx.get(asset["url"], timeout=30).content)).convert("RGB"), dtype=np.int16
    )


def test_a_mask_keeps_an_img2img_ip_adapter_change_inside_it(client: httpx.Client) -> None:
    source = np.asarray(picture().convert("RGB"), dtype=np.int16)
    outside = np.asarray(mask(), dtype=np.int16) == 0
    # The edge blends over ~1/64 of the side, grown outward: compare beyond 4 pixels from the mask, any direction.
    far = np.asarray(mask().filter(ImageFilter.MaxFilter(9)), dtype=np.int16) == 0
    masked = wait_for(client, post(client, "img2img-ip-adapter", mask=data_url(mask())).json()["job"]["jobId"])
    free = wait_for(client, post(client, "img2img-ip-adapter").json()["job"]["jobId"])
    with_mask, without = _image(client, masked), _image(client, free)
    diff = np.abs(with_mask - source).max(axis=2)
    assert diff[far].max() == 0, np.argwhere((diff > 0) & far)[:10].tolist()  # untouched outside the mask
    assert np.abs(with_mask - source)[~outside].mean() > 5  # changed inside it
    assert np.abs(without - source)[far].mean() > 5  # without a mask the whole image changes


def test_several_ip_adapter_sets_at_once_over_rest(client: httpx.Client) -> None:
    """The `ipAdapters` extension: a character set and a style set in one request, each with its own scales."""
    body = {
        "modelId": "tiny-sd15",
        "prompt": "a portrait",
        "numSamples": 1,
        "numInferenceSteps": 2,
        "width": 64,
        "height": 64,
        "ipAdapters": [
            {"type": "character", "images": [data_url(picture(seed=1))], "scales": [0.7]},
            {"type": "style", "images": [data_url(picture(seed=2))]},
        ],
    }
    response = client.post("/v1/generate/txt2img-ip-adapter", json=body)
    assert response.status_code == 200, response.text
    assert [len(s["images"]) for s in response.json()["inference"]["ipAdapters"]] == [1, 1]  # signed URLs
    job = wait_for(client, response.json()["job"]["jobId"])
    assert job["status"] == "success", job
    stored = [(s["type"], s["scales"]) for s in job["metadata"]["input"]["ipAdapters"]]
    assert stored == [("character", [0.7]), ("style", [0.9])]
    both = client.post("/v1/generate/txt2img-ip-adapter", json={**body, "ipAdapterImages": [data_url(picture())]})
    assert both.status_code == 400 and both.json()["reason"] == "conflicting_fields"
    twice = {**body, "ipAdapters": [body["ipAdapters"][1], body["ipAdapters"][1]]}
    again = client.post("/v1/generate/txt2img-ip-adapter", json=twice)
    assert again.status_code == 400 and again.json()["field"].startswith("ipAdapters"), again.text
