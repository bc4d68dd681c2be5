"""FLUX over REST: every mode on tiny-flux, true CFG, LoRA epochs and base models, Kontext, the flow-matching
scheduler rule, and each model's inputs (`GET /v1/models/{id}`) saying what FLUX takes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_generate_modes import RESPONSE_DEFINITION
from tests.service_helpers import data_url, mask, picture, wait_for

SIZE = 128


def flux_body(mode: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "modelId": "tiny-flux",
        "prompt": "a red fox",
        "numSamples": 1,
        "numInferenceSteps": 2,
        "width": SIZE,
        "height": SIZE,
        "seed": "77",
    }
    if mode.startswith(("img2img", "inpaint")):
        body["image"] = data_url(picture(SIZE))
    if mode.startswith("inpaint"):
        body["mask"] = data_url(mask(SIZE))
    if mode.endswith("ip-adapter"):
        body["ipAdapterImages"] = [data_url(picture(32, seed=3))]
    return {**body, **extra}


def run(client: httpx.Client, mode: str, **extra: Any) -> dict[str, Any]:
    response = client.post(f"/v1/generate/{mode}", json=flux_body(mode, **extra))
    assert response.status_code == 200, response.text
    job = wait_for(client, response.json()["job"]["jobId"], timeout_s=600)
    assert job["status"] == "success", job
    return job


@pytest.mark.parametrize("mode", list(RESPONSE_DEFINITION))
def test_every_mode_runs_on_tiny_flux(client: httpx.Client, mode: str) -> None:
    job = run(client, mode)
    assert len(job["metadata"]["assetIds"]) == 1


def test_true_cfg_and_lora_epochs_over_rest(client: httpx.Client) -> None:
    job = run(client, "txt2img", negativePrompt="blurry", negativePromptStrength=2.0)
    assert job["metadata"]["input"]["negativePromptStrength"] == 2.0
    job = run(client, "img2img", modelId="tiny-flux-lora", modelEpoch="000001", baseModelId="tiny-flux-schnell")
    assert job["metadata"]["input"]["modelEpoch"] == "000001"
    run(client, "img2img", modelId="tiny-flux-kontext")
    run(client, "txt2img", modelId="tiny-flux-composition")


FLUX2_CAPABILITIES = ["txt2img", "img2img", "txt2img_ip_adapter", "img2img_ip_adapter"]


@pytest.mark.parametrize("mode", ["txt2img", "img2img"])
def test_flux2_runs_over_rest_and_shows_as_a_custom_type(client: httpx.Client, mode: str) -> None:
    job = run(client, mode, modelId="tiny-flux2", negativePrompt="blurry")
    assert job["metadata"]["input"]["modelId"] == "tiny-flux2"
    model = client.get("/v1/models/tiny-flux2").json()["model"]
    assert model["type"] == "custom" and model["capabilities"] == FLUX2_CAPABILITIES


def test_flux2_dev_over_rest(client: httpx.Client) -> None:
    job = run(client, "txt2img", modelId="tiny-flux2-dev", numSamples=2)
    assert len(job["metadata"]["assetIds"]) == 2 and job["metadata"]["input"]["guidance"] == 4.0
    model = client.get("/v1/models/tiny-flux2-dev").json()["model"]
    assert model["type"] == "custom" and model["capabilities"] == FLUX2_CAPABILITIES
    inputs = {i["name"]: i for i in model["inputs"]}
    assert "negativePrompt" not in inputs and "negativePromptStrength" not in inputs
    assert "at most 10 images" in inputs["ipAdapterImages"]["description"] and "ipAdapterScales" not in inputs
    response = client.post(
        "/v1/generate/txt2img", json=flux_body("txt2img", modelId="tiny-flux2-dev", negativePrompt="x")
    )
    assert response.status_code == 400 and response.json()["field"] == "negativePrompt"


def test_multi_reference_editing_over_rest(client: httpx.Client) -> None:
    refs = [data_url(picture(64, seed=s)) for s in (4, 5)]
    job = run(client, "img2img-ip-adapter", modelId="tiny-flux2", ipAdapterImages=refs)
    assert job["metadata"]["input"]["ipAdapterScales"] == [1.0, 1.0]
    run(client, "txt2img-ip-adapter", modelId="tiny-flux2-dev", ipAdapterImages=refs)
    too_many = flux_body("img2img-ip-adapter", modelId="tiny-flux2", ipAdapterImages=refs * 2)
    response = client.post("/v1/generate/img2img-ip-adapter", json=too_many)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "ipAdapterImages" and "at most 4 reference images" in body["message"]
    weighted = flux_body("txt2img-ip-adapter", modelId="tiny-flux2", ipAdapterImages=refs, ipAdapterScales=[0.5])
    response = client.post("/v1/generate/txt2img-ip-adapter", json=weighted)
    assert response.status_code == 400 and response.json()["field"] == "ipAdapterScales[0]"


@pytest.mark.parametrize(
    ("extra", "field", "text"),
    [
        ({"negativePrompt": "blurry"}, "negativePromptStrength", "needs negativePromptStrength > 0"),
        ({"scheduler": "DDIMScheduler"}, "scheduler", "use one of FlowMatchEulerDiscreteScheduler"),
        ({"guidance": 12}, "guidance", "[0, 10]"),
        ({"modelId": "tiny-flux-lora", "modelEpoch": "9"}, "modelEpoch", "available: ['000001', '000002', '000003']"),
        ({"modelId": "tiny-flux-lora", "baseModelId": "tiny-sdxl"}, "baseModelId", "allowed: ['tiny-flux'"),
    ],
)
def test_flux_rules_answer_400(client: httpx.Client, extra: dict[str, Any], field: str, text: str) -> None:
    response = client.post("/v1/generate/txt2img", json=flux_body("txt2img", **extra))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and text in response.json()["message"]


def test_model_inputs_say_what_flux_takes(client: httpx.Client) -> None:
    inputs = {i["name"]: i for i in client.get("/v1/models/tiny-flux").json()["model"]["inputs"]}
    assert inputs["scheduler"]["allowedValues"] == ["FlowMatchEulerDiscreteScheduler"]
    assert inputs["guidance"]["default"] == 3.5 and inputs["guidance"]["max"] == 10
    assert inputs["width"]["step"] == 16 and inputs["numInferenceSteps"]["default"] == 28
    assert "negativePromptStrength" in inputs
    lora = {i["name"]: i for i in client.get("/v1/models/tiny-flux-lora").json()["model"]["inputs"]}
    assert lora["modelEpoch"]["allowedValues"] == ["000001", "000002", "000003"]
    assert lora["modelEpoch"]["default"] == "000003"
