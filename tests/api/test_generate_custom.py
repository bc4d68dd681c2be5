"""POST /v1/generate/custom/{modelId}: a model's inputs by name pick the mode and run exactly as the mode's own
endpoint does (same checks, job, assets); GET /v1/models[/{id}] describes each model's inputs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from tests.api.test_generate_modes import RESPONSE_DEFINITION
from tests.service_helpers import assert_matches, data_url, mask, picture, wait_for

MODES = list(RESPONSE_DEFINITION)


def inputs_for(mode: str, **extra: Any) -> dict[str, Any]:
    """A custom body (no modelId: it is in the path) whose inputs ask for `mode`."""
    body: dict[str, Any] = {
        "prompt": "a red fox",
        "numSamples": 1,
        "numInferenceSteps": 2,
        "width": 64,
        "height": 64,
        "seed": "4321",
    }
    if mode.startswith(("img2img", "inpaint")):
        body.update(image=data_url(picture()), strength=0.8)
    if mode.startswith("inpaint"):
        body["mask"] = data_url(mask())
    if mode.endswith("ip-adapter"):
        body.update(ipAdapterImages=[data_url(picture(seed=3))], ipAdapterScales=[0.5], ipAdapterType="character")
    return {**body, **extra}


def job_count(client: httpx.Client) -> int:
    return len(client.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"])


def by_name(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in model["inputs"]}


# -- the Model object's inputs --


def test_every_model_lists_its_inputs_and_still_matches_the_spec(client: httpx.Client) -> None:
    listed = client.get("/v1/models").json()
    assert_matches("GetModelsResponse", listed)
    assert all(model["inputs"] and model["inputs"][0]["name"] == "prompt" for model in listed["models"])
    got = client.get("/v1/models/tiny-sd15").json()
    assert_matches("GetModelsByModelIdResponse", got)
    inputs = by_name(got["model"])
    assert list(inputs)[:9] == [
        "prompt",
        "negativePrompt",
        "image",
        "strength",
        "mask",
        "disableMerging",
        "ipAdapterImages",
        "ipAdapterScales",
        "ipAdapterType",
    ]
    assert inputs["prompt"]["required"] == {"always": True} and inputs["prompt"]["type"] == "string"
    assert inputs["image"] == {**inputs["image"], "type": "file", "kind": "image", "parent": True}
    assert "mask" in inputs["image"]["required"]["ifDefined"]
    assert inputs["mask"]["maskFrom"] == "image"
    assert inputs["strength"] == {**inputs["strength"], "default": 0.75, "min": 0.01, "max": 1.0}
    assert inputs["ipAdapterImages"] == {**inputs["ipAdapterImages"], "type": "file_array", "maxLength": 8}
    assert inputs["ipAdapterType"]["allowedValues"] == ["style", "character"]
    assert inputs["numSamples"] == {**inputs["numSamples"], "default": 4, "min": 1, "max": 128, "costImpact": True}
    assert (inputs["width"]["min"], inputs["width"]["max"], inputs["width"]["default"]) == (64, 1024, 512)
    assert inputs["guidance"]["default"] == 7.5
    assert inputs["scheduler"]["allowedValues"] == list(SCHEDULER_NAMES)
    assert inputs["scheduler"]["default"] in SCHEDULER_NAMES
    assert inputs["concepts"] == {**inputs["concepts"], "type": "model_array", "modelTypes": ["sd-1_5-lora"]}
    assert inputs["concepts"]["allowedValues"] == ["tiny-sd15-lora"]
    assert "baseModelId" not in inputs


def test_inputs_follow_the_family_and_a_lora_takes_those_of_its_base(client: httpx.Client) -> None:
    sdxl = by_name(client.get("/v1/models/tiny-sdxl").json()["model"])
    assert (sdxl["width"]["min"], sdxl["width"]["max"], sdxl["width"]["default"]) == (512, 2048, 1024)
    assert sdxl["guidance"]["default"] == 6
    assert sdxl["concepts"]["allowedValues"] == ["tiny-sdxl-lora"]
    lora = by_name(client.get("/v1/models/tiny-sd15-lora").json()["model"])
    assert "ipAdapterImages" not in lora  # a LoRA model id runs txt2img, img2img and inpaint only
    assert {"image", "mask", "strength"} <= set(lora)
    assert lora["baseModelId"] == {**lora["baseModelId"], "default": "tiny-sd15"}
    assert lora["baseModelId"]["allowedValues"] == ["tiny-sd15", "tiny-sd15-file"]


# -- generation --


@pytest.mark.parametrize("mode", MODES)
def test_the_inputs_given_pick_the_mode_and_it_runs_as_its_own_endpoint(client: httpx.Client, mode: str) -> None:
    response = client.post("/v1/generate/custom/tiny-sd15", json=inputs_for(mode))
    assert response.status_code == 200, response.text
    posted = response.json()
    assert_matches(RESPONSE_DEFINITION[mode], posted)
    assert posted["inference"]["type"] == mode.replace("-", "_")
    assert posted["inference"]["modelId"] == "tiny-sd15"
    assert posted["job"]["status"] == "queued" and "warnings" not in posted
    job = wait_for(client, posted["job"]["jobId"])
    assert job["status"] == "success", job
    assert_matches("GetJobIdResponse", {"job": job})
    stored = job["metadata"]["input"]
    assert {k: posted["inference"].get(k) for k in stored} == stored  # the echo is the stored input (+ URLs)
    (asset_id,) = job["metadata"]["assetIds"]
    asset = client.get(f"/v1/assets/{asset_id}").json()["asset"]
    assert asset["metadata"]["type"] == f"inference-{mode}"
    assert asset["metadata"]["seed"] == "4321"
    assert httpx.get(asset["url"]).status_code == 200


def test_same_request_same_job_input_as_the_mode_endpoint(client: httpx.Client) -> None:
    body = inputs_for("img2img", image=data_url(picture(seed=5)))
    custom = client.post("/v1/generate/custom/tiny-sd15", json=body).json()["inference"]
    direct = client.post("/v1/generate/img2img", json={"modelId": "tiny-sd15", **body}).json()["inference"]
    ids = {"imageId", "image"}  # each request stores its own copy of the inline image
    assert {k: v for k, v in custom.items() if k not in ids} == {k: v for k, v in direct.items() if k not in ids}


def test_lora_model_concepts_by_id_and_defaults(client: httpx.Client) -> None:
    posted = client.post(
        "/v1/generate/custom/tiny-sd15",
        json={"prompt": "a fox", "numInferenceSteps": 2, "concepts": ["tiny-sd15-lora"]},
    )
    assert posted.status_code == 200, posted.text
    inference = posted.json()["inference"]
    assert inference["concepts"] == [{"modelId": "tiny-sd15-lora", "scale": 1.0}]
    assert (inference["numSamples"], inference["width"], inference["guidance"]) == (4, 512, 7.5)
    client.post(f"/v1/jobs/{posted.json()['job']['jobId']}/action", json={"action": "cancel"})
    lora = client.post(
        "/v1/generate/custom/tiny-sd15-lora",
        params={"dryRun": "true"},
        json={"prompt": "a fox", "baseModelId": "tiny-sd15-file", "numSamples": 2},
    )
    assert lora.status_code == 269, lora.text


# -- dry run --


@pytest.mark.parametrize("flag", ["true", "api"])
def test_dry_run_answers_269_with_the_cost_and_queues_nothing(client: httpx.Client, flag: str) -> None:
    before = job_count(client)
    body = inputs_for("inpaint-ip-adapter", numSamples=3)
    response = client.post("/v1/generate/custom/tiny-sd15", params={"dryRun": flag}, json=body)
    assert response.status_code == 269, response.text
    assert_matches("DryRunResponse", response.json())
    direct = client.post(
        "/v1/generate/inpaint-ip-adapter", params={"dryRun": "true"}, json={"modelId": "tiny-sd15", **body}
    )
    assert response.json() == direct.json() == {"creativeUnitsCost": 3}
    assert job_count(client) == before


def test_an_input_without_the_one_it_refines_is_ignored_with_a_warning(client: httpx.Client) -> None:
    response = client.post(
        "/v1/generate/custom/tiny-sd15",
        params={"dryRun": "true"},
        json={"prompt": "a fox", "strength": 0.5, "ipAdapterType": "character", "disableMerging": None},
    )
    assert response.status_code == 269, response.text
    assert [w["field"] for w in response.json()["warnings"]] == ["strength", "ipAdapterType"]
    assert "image" in response.json()["warnings"][0]["message"]


# -- bad inputs --


@pytest.mark.parametrize(
    ("model_id", "body", "field", "reason"),
    [
        ("tiny-sd15", {"prompt": "a fox", "steps": 20}, "steps", "unknown_input"),
        ("tiny-sd15", {"prompt": "a fox", "imageId": "asset_x"}, "imageId", "unknown_input"),
        ("tiny-sd15", {"prompt": "a fox", "aspectRatio": "1:1"}, "aspectRatio", "unknown_input"),
        ("tiny-sd15-lora", inputs_for("txt2img-ip-adapter"), "ipAdapterImages", "unknown_input"),
        ("tiny-sd15", {"prompt": "a fox", "baseModelId": "tiny-sd15"}, "baseModelId", "unknown_input"),
        ("tiny-sd15", {"prompt": "a fox", "mask": data_url(mask())}, "image", "missing_image"),
        ("tiny-sd15", {"prompt": "a fox", "modelId": "tiny-sdxl"}, "modelId", "conflicting_fields"),
        ("tiny-sd15", {"negativePrompt": "blur"}, "prompt", "missing_field"),
    ],
)
def test_bad_inputs_are_400_naming_the_field(
    client: httpx.Client, model_id: str, body: dict[str, Any], field: str, reason: str
) -> None:
    before = job_count(client)
    response = client.post(f"/v1/generate/custom/{model_id}", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["field"], error["reason"]) == (field, reason), error
    if reason == "unknown_input":
        names = [i["name"] for i in client.get(f"/v1/models/{model_id}").json()["model"]["inputs"]]
        assert f"its inputs are: {', '.join(names)}" in error["message"]
    assert job_count(client) == before


def test_a_misspelt_input_gets_the_closest_name(client: httpx.Client) -> None:
    error = client.post("/v1/generate/custom/tiny-sd15", json={"prompt": "a fox", "numInferenceStep": 2}).json()
    assert error["field"] == "numInferenceStep" and "Did you mean numInferenceSteps?" in error["message"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"width": 65}, "width"), ({"strength": 0}, "strength"), ({"ipAdapterScales": [0.5, 0.5]}, "ipAdapterScales")],
)
def test_value_errors_are_those_of_the_mode_endpoint(client: httpx.Client, changes: dict[str, Any], field: str) -> None:
    body = inputs_for("img2img-ip-adapter", **changes)
    custom = client.post("/v1/generate/custom/tiny-sd15", json=body)
    direct = client.post("/v1/generate/img2img-ip-adapter", json={"modelId": "tiny-sd15", **body})
    assert custom.status_code == direct.status_code == 400
    assert custom.json() == direct.json() and custom.json()["field"] == field


def test_unknown_model_is_404_and_a_body_that_is_not_an_object_is_400(client: httpx.Client) -> None:
    missing = client.post("/v1/generate/custom/no-such-model", json={"prompt": "a fox"})
    assert missing.status_code == 404 and missing.json()["reason"] == "model_not_found"
    assert client.post("/v1/generate/custom/tiny-sd15", json=["a fox"]).status_code == 400


def test_the_openapi_document_lists_the_custom_endpoint(client: httpx.Client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/generate/custom/{modelId}"]["post"]
    assert operation["operationId"] == "post_generate_custom" and "269" in operation["responses"]
