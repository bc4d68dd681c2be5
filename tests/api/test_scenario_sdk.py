"""Scenario's official Python SDK (scenario-sdk), unchanged, pointed at diffuserve: list and read models with their
inputs, generate through its one generate method (custom generation), poll the job, read and download the asset."""

from __future__ import annotations

import time

import httpx
import pytest
import scenario_sdk
from scenario_sdk import Scenario

from tests.service_helpers import TERMINAL, RunningService, data_url, mask, open_png, picture


@pytest.fixture()
def sdk(service: RunningService, credentials: tuple[str, str]) -> Scenario:
    key, secret = credentials
    return Scenario(api_key=key, api_secret=secret, base_url=f"{service.base_url}/v1", max_retries=0, timeout=60)


def test_models_list_and_retrieve_with_inputs(sdk: Scenario) -> None:
    models = {model.id: model for model in sdk.models.list()}
    assert {"tiny-sd15", "tiny-sdxl", "tiny-sd15-lora"} <= set(models)
    model = sdk.models.retrieve("tiny-sd15").model
    assert model.type == "sd-1_5" and "inpaint_ip_adapter" in model.capabilities
    assert model.inputs is not None
    inputs = {item.name: item for item in model.inputs}
    assert inputs["prompt"].required is not None and inputs["prompt"].required.always
    assert (inputs["width"].type, inputs["width"].min, inputs["width"].max, inputs["width"].default) == (
        "number",
        64,
        1024,
        512,
    )
    assert inputs["image"].kind == "image" and inputs["mask"].mask_from == "image"
    assert inputs["ipAdapterImages"].type == "file_array"
    assert inputs["scheduler"].allowed_values and "EulerDiscreteScheduler" in inputs["scheduler"].allowed_values
    with pytest.raises(scenario_sdk.NotFoundError):
        sdk.models.retrieve("no-such-model")


def test_run_model_then_poll_the_job_and_read_the_asset(sdk: Scenario) -> None:
    body = {
        "prompt": "a red fox",
        "image": data_url(picture()),
        "mask": data_url(mask()),
        "strength": 0.8,
        "numSamples": 2,
        "numInferenceSteps": 2,
        "seed": 99,
    }
    response = sdk.generate.run_model("tiny-sd15", body=body)
    assert response.creative_units_cost == 2
    job = response.job
    assert job.job_id.startswith("job_") and job.status == "queued"
    deadline = time.monotonic() + 120
    while job.status not in TERMINAL:  # the SDK documents polling GET /jobs/{jobId} every few seconds
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
        job = sdk.jobs.retrieve(job.job_id).job
    assert job.status == "success" and job.progress == 1
    assert job.metadata.input is not None and job.metadata.input["type"] == "inpaint"
    assert job.metadata.asset_ids is not None and len(job.metadata.asset_ids) == 2
    asset = sdk.assets.retrieve(job.metadata.asset_ids[1]).asset
    assert asset.metadata.type == "inference-inpaint"
    assert asset.metadata.seed == "100"  # image i uses seed + i
    content = httpx.get(asset.url)  # a signed URL: no credentials
    assert content.status_code == 200 and open_png(content.content).size == (64, 64)


def test_dry_run_and_a_bad_input_through_the_sdk(sdk: Scenario) -> None:
    raw = sdk.generate.with_raw_response.run_model("tiny-sdxl", body={"prompt": "a castle"}, dry_run="true")
    assert raw.status_code == 269
    assert raw.parse().creative_units_cost == 4 * 5  # numSamples 4, 5 CU per default SDXL image
    with pytest.raises(scenario_sdk.BadRequestError) as refused:
        sdk.generate.run_model("tiny-sdxl", body={"prompt": "a castle", "steps": 20})
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["field"] == "steps" and refused.value.body["reason"] == "unknown_input"
