"""What a job leaves: each output PNG carries A1111's `parameters` infotext (readable by A1111's PNG Info and
Civitai) and the resolved parameters as JSON, with the seed of that image."""

from __future__ import annotations

import json

import httpx

from tests.a1111 import parse_generation_parameters
from tests.service_helpers import data_url, open_png, picture, wait_for


def test_output_pngs_carry_a1111_infotext_and_json_parameters(client: httpx.Client) -> None:
    body = {
        "modelId": "tiny-sd15-lora",  # a LoRA model id: its base runs with the LoRA at scale 1
        "prompt": "a red door, weathered",
        "negativePrompt": "text",
        "image": data_url(picture(64)),
        "strength": 0.5,
        "numSamples": 2,
        "numInferenceSteps": 4,
        "scheduler": "EulerAncestralDiscreteScheduler",
        "seed": "11",
    }
    posted = client.post("/v1/generate/img2img", json=body)
    assert posted.status_code == 200, posted.text
    job = wait_for(client, posted.json()["job"]["jobId"])
    assert job["status"] == "success", job
    second = client.get(f"/v1/assets/{job['metadata']['assetIds'][1]}").json()["asset"]
    with open_png(httpx.get(second["url"]).content) as png:
        text = dict(png.text)  # type: ignore[attr-defined]
    parsed = parse_generation_parameters(text["parameters"])
    assert parsed["Prompt"] == "a red door, weathered <lora:tiny-sd15-lora:1>"
    assert parsed["Negative prompt"] == "text"
    assert parsed["Seed"] == "12" and parsed["Steps"] == "4" and parsed["Sampler"] == "Euler a"
    assert parsed["Denoising strength"] == "0.5" and parsed["Model"] == "tiny-sd15"
    assert (parsed["Size-1"], parsed["Size-2"]) == ("64", "64")
    params = json.loads(text["diffuserve"])
    assert params["modelId"] == "tiny-sd15-lora" and params["seed"] == "12" and params["strength"] == 0.5
