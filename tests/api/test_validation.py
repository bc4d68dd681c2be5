"""Every §3.3 rule broken on purpose: HTTP 400 with {reason, message} naming the field; nothing is queued."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.test_generate_modes import body_for
from tests.service_helpers import assert_matches, data_url, picture, wait_for

BOGUS_ASSET = "asset_doesnotexist0000000"

# (mode, changes to a valid body; None removes the field, expected field named in the error)
BROKEN: list[tuple[str, dict[str, Any], str]] = [
    ("txt2img", {"modelId": None}, "modelId"),
    ("txt2img", {"prompt": None}, "prompt"),
    ("img2img", {"image": None}, "image"),  # rule 1: an input image is required
    ("inpaint-ip-adapter", {"image": None, "imageId": ""}, "image"),
    ("inpaint", {"mask": None}, "mask"),  # rule 2: a mask is required
    ("img2img", {"image": "not-a-data-url"}, "image"),
    ("img2img", {"image": "data:image/png;base64,AAAA"}, "image"),  # not an image
    # rule 3: ipAdapterImageId cannot be set together with ipAdapterImage; one image is required
    (
        "txt2img-ip-adapter",
        {"ipAdapterImages": None, "ipAdapterImage": data_url(picture()), "ipAdapterImageId": "asset_x"},
        "ipAdapterImageId",
    ),
    ("txt2img-ip-adapter", {"ipAdapterImages": None}, "ipAdapterImages"),
    # rule 4: scales in [0, 1], not more scales than images
    ("txt2img-ip-adapter", {"ipAdapterScales": [0.5, 0.5]}, "ipAdapterScales"),
    ("txt2img-ip-adapter", {"ipAdapterScales": [1.5]}, "ipAdapterScales[0]"),
    ("txt2img-ip-adapter", {"ipAdapterScales": None, "ipAdapterScale": -0.1}, "ipAdapterScale"),
    ("txt2img-ip-adapter", {"ipAdapterType": "face"}, "ipAdapterType"),
    # rule 5: width/height integers, multiples of 8, in the model type's range
    ("txt2img", {"width": 65}, "width"),
    ("txt2img", {"height": 63.5}, "height"),
    ("txt2img", {"width": 2048}, "width"),  # sd-1_5: at most 1024
    ("txt2img", {"modelId": "tiny-sdxl", "width": 256, "height": 512}, "width"),  # sd-xl: at least 512
    # rule 6: guidance in range
    ("txt2img", {"guidance": 25}, "guidance"),
    # rule 10: concepts scale in [-2, 2] and LoRA models only
    ("txt2img", {"concepts": [{"modelId": "tiny-sd15-lora", "scale": 3}]}, "concepts[0].scale"),
    ("txt2img", {"concepts": [{"modelId": "tiny-sdxl", "scale": 1}]}, "concepts[0].modelId"),
    ("txt2img", {"concepts": [{"modelId": "tiny-sd15-lora"}]}, "concepts[0].scale"),
    # rule 11: the model must have the capability
    ("txt2img-ip-adapter", {"modelId": "tiny-sd15-lora"}, "modelId"),
    # other fields of §3.1
    ("txt2img", {"numSamples": 0}, "numSamples"),
    ("txt2img", {"numSamples": "two"}, "numSamples"),
    ("txt2img", {"numInferenceSteps": 151}, "numInferenceSteps"),
    ("txt2img", {"scheduler": "FancyScheduler"}, "scheduler"),
    ("txt2img", {"seed": "-5"}, "seed"),
    ("txt2img", {"seed": "abc"}, "seed"),
    ("img2img", {"strength": 0}, "strength"),
    ("txt2img", {"intermediateImages": "maybe"}, "intermediateImages"),
]


@pytest.mark.parametrize(("mode", "changes", "field"), BROKEN, ids=[f"{m}-{f}" for m, _, f in BROKEN])
def test_broken_rule_is_answered_400_naming_the_field(
    client: httpx.Client, mode: str, changes: dict[str, Any], field: str
) -> None:
    body = body_for(mode)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    before = client.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"]
    response = client.post(f"/v1/generate/{mode}", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["reason"] and error["message"]
    assert error["field"] == field, error
    after = client.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"]
    assert len(after) == len(before), "a rejected request must not create a job"


@pytest.mark.parametrize(
    ("mode", "changes"),
    [
        ("txt2img", {"modelId": "no-such-model"}),
        ("img2img", {"image": BOGUS_ASSET}),
        ("inpaint", {"mask": None, "maskId": BOGUS_ASSET}),
        ("txt2img-ip-adapter", {"ipAdapterImages": None, "ipAdapterImageIds": [BOGUS_ASSET]}),
    ],
)
def test_unknown_ids_are_404(client: httpx.Client, mode: str, changes: dict[str, Any]) -> None:
    body = {**body_for(mode), **changes}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(f"/v1/generate/{mode}", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["reason"].endswith("not_found")


def test_malformed_json_and_non_object_bodies_are_400(client: httpx.Client) -> None:
    bad = client.post("/v1/generate/txt2img", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400
    assert bad.json() == {"reason": "invalid_request", "message": "the body is not valid JSON", "field": "body"}
    listed = client.post("/v1/generate/txt2img", json=[1, 2])
    assert listed.status_code == 400 and "message" in listed.json()
    assert client.post("/v1/generate/outpaint", json=body_for("txt2img")).status_code == 404


def test_precedence_image_over_imageid_mask_over_maskid_images_over_ids(client: httpx.Client) -> None:
    body = body_for(
        "inpaint-ip-adapter",
        numSamples=1,
        imageId=BOGUS_ASSET,
        maskId=BOGUS_ASSET,
        ipAdapterImageIds=[BOGUS_ASSET],
        ipAdapterImageId=BOGUS_ASSET,
    )
    response = client.post("/v1/generate/inpaint-ip-adapter", json=body)
    assert response.status_code == 200, response.text
    inference = response.json()["inference"]
    assert BOGUS_ASSET not in (inference["imageId"], inference["maskId"], *inference["ipAdapterImageIds"])
    assert inference["ipAdapterScales"] == [0.5]
    assert wait_for(client, response.json()["job"]["jobId"])["status"] == "success"


def test_seed_as_number_extra_fields_ignored_and_scale_broadcast(client: httpx.Client) -> None:
    body = body_for(
        "txt2img-ip-adapter",
        numSamples=1,
        seed=77,
        somethingNew={"x": 1},
        aspectRatio="16:9",
        ipAdapterImages=[data_url(picture(seed=1)), data_url(picture(seed=2))],
        ipAdapterScales=None,
        ipAdapterScale=0.4,
    )
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/v1/generate/txt2img-ip-adapter", json=body)
    assert response.status_code == 200, response.text
    inference = response.json()["inference"]
    assert inference["seed"] == "77"
    assert inference["ipAdapterScales"] == [0.4, 0.4]
    assert "somethingNew" not in inference


def test_dry_run_answers_269_with_the_cost_and_creates_nothing(client: httpx.Client) -> None:
    jobs_before = client.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"]
    assets_before = client.get("/v1/assets", params={"pageSize": 100}).json()["assets"]
    body = body_for("img2img", numSamples=3, imageHide=False)
    response = client.post("/v1/generate/img2img", params={"dryRun": "true"}, json=body)
    assert response.status_code == 269
    assert_matches("DryRunResponse", response.json())
    assert response.json() == {"creativeUnitsCost": 3}  # 3 CU per SD 1.5 image, at least 1 each
    assert client.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"] == jobs_before
    assert client.get("/v1/assets", params={"pageSize": 100}).json()["assets"] == assets_before
    # The same request for real costs the same.
    real = client.post("/v1/generate/img2img", params={"dryRun": "false"}, json=body).json()
    assert real["creativeUnitsCost"] == 3
    # Broken requests fail in a dry run too.
    assert client.post("/v1/generate/img2img", params={"dryRun": "1"}, json={**body, "width": 3}).status_code == 400


def test_an_image_with_too_many_pixels_is_refused_before_decoding(client: httpx.Client) -> None:
    # 30000x30000 one-bit pixels compress to a few kB: a decompression bomb for a naive decoder.
    bomb = data_url(Image.new("1", (30000, 30000)))
    response = client.post("/v1/generate/img2img", json={**body_for("img2img"), "image": bomb})
    assert response.status_code == 400
    assert response.json()["reason"] == "image_too_large" and response.json()["field"] == "image"


def test_a_seed_out_of_range_is_named_exactly(client: httpx.Client) -> None:
    response = client.post("/v1/generate/txt2img", json={**body_for("txt2img"), "seed": "18446744073709551615"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "seed must be an integer in [0, 9223372036854775679], got 18446744073709551615"
    )


def _post_raw(client: httpx.Client, mode: str, body: dict[str, Any]) -> httpx.Response:
    """Posts JSON as Python writes it (ASCII, \\u escapes), so a lone surrogate reaches the server intact."""
    content = json.dumps(body).encode()
    return client.post(f"/v1/generate/{mode}", content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize("field", ["prompt", "negativePrompt", "scheduler", "modelId"])
def test_a_lone_surrogate_in_a_string_is_400_and_listing_jobs_still_works(client: httpx.Client, field: str) -> None:
    response = _post_raw(client, "txt2img", body_for("txt2img", **{field: "a \ud800 fox"}))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert client.get("/v1/jobs", params={"pageSize": 200}).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"width": 10**400}, "width"),
        ({"guidance": -(10**400)}, "guidance"),
        ({"numSamples": 10**400}, "numSamples"),
        ({"seed": "\u00b2"}, "seed"),  # a unicode digit: str.isdigit() says yes, int() says no
        ({"seed": "9" * 5000}, "seed"),
        ({"ipAdapterScales": [10**400]}, "ipAdapterScales[0]"),
    ],
)
def test_numbers_out_of_any_range_are_400_not_500(client: httpx.Client, changes: dict[str, Any], field: str) -> None:
    response = _post_raw(client, "txt2img-ip-adapter", body_for("txt2img-ip-adapter", **changes))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize("field", ["ipAdapterImages", "ipAdapterImageIds"])
def test_too_many_ip_adapter_images_are_refused_before_any_is_read(client: httpx.Client, field: str) -> None:
    # Nine inputs that are not images: the count is checked before any is decoded or looked up.
    value = "data:image/png;base64,AAAA" if field == "ipAdapterImages" else BOGUS_ASSET
    body = {k: v for k, v in body_for("txt2img-ip-adapter").items() if not k.startswith("ipAdapter")}
    body[field] = [value] * 9
    response = client.post("/v1/generate/txt2img-ip-adapter", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "ipAdapterImages allows at most 8 images, got 9"
    assert response.json()["field"] == field
