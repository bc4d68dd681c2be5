"""Assets over HTTP: upload, get, listing filters, delete; data URL inputs become assets."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.service_helpers import assert_matches, data_url, open_png, picture, png, wait_for


def test_upload_get_list_delete(client: httpx.Client) -> None:
    raw = base64.b64encode(png(picture(48))).decode()
    posted = client.post("/v1/assets", json={"name": "cat.png", "image": raw, "collectionIds": []})
    assert posted.status_code == 200, posted.text
    assert_matches("PostAssetResponse", posted.json())
    asset = posted.json()["asset"]
    assert asset["metadata"]["type"] == "uploaded" and asset["source"] == "uploaded"
    assert asset["properties"]["width"] == 48
    child = client.post(
        "/v1/assets", json={"name": "c.png", "image": data_url(picture(32)), "parentId": asset["id"]}
    ).json()["asset"]
    hidden = client.post("/v1/assets", json={"name": "h.png", "image": raw, "hide": True}).json()["asset"]

    listed = client.get("/v1/assets", params={"parentAssetId": asset["id"]})
    assert_matches("GetAssetsResponse", listed.json())
    assert [a["id"] for a in listed.json()["assets"]] == [child["id"]]
    everything = {a["id"] for a in client.get("/v1/assets", params={"pageSize": 100}).json()["assets"]}
    assert hidden["id"] not in everything and asset["id"] in everything
    assert client.get(f"/v1/assets/{hidden['id']}").status_code == 200  # hidden, not gone
    assert client.get("/v1/assets", params={"type": "uploaded", "types": "uploaded"}).status_code == 400

    assert client.request("DELETE", "/v1/assets", json={"assetIds": [child["id"]]}).json() == {}
    assert client.get(f"/v1/assets/{child['id']}").status_code == 404
    assert httpx.get(child["url"]).status_code == 404
    assert client.request("DELETE", "/v1/assets", json={"assetIds": ["asset_nope"]}).status_code == 404
    assert client.request("DELETE", "/v1/assets", json={"assetIds": []}).status_code == 400
    assert client.post("/v1/assets", json={"image": raw}).status_code == 400


def test_data_url_inputs_become_assets_with_parent_and_hide(client: httpx.Client) -> None:
    parent = client.post("/v1/assets", json={"name": "p.png", "image": data_url(picture())}).json()["asset"]
    body = {
        "modelId": "tiny-sd15",
        "prompt": "x",
        "numSamples": 1,
        "numInferenceSteps": 2,
        "width": 64,
        "height": 64,
        "image": data_url(picture(seed=5)),
        "imageParentId": parent["id"],
        "imageHide": True,
    }
    response = client.post("/v1/generate/img2img", json=body)
    assert response.status_code == 200, response.text
    posted = response.json()
    image_id = posted["inference"]["imageId"]
    assert image_id.startswith("asset_")
    assert open_png(httpx.get(posted["inference"]["image"]).content).size == (64, 64)
    image = client.get(f"/v1/assets/{image_id}").json()["asset"]
    assert image["metadata"]["parentId"] == parent["id"]
    listed = {a["id"] for a in client.get("/v1/assets", params={"pageSize": 100}).json()["assets"]}
    assert image_id not in listed  # imageHide
    job = wait_for(client, posted["job"]["jobId"])
    outputs = client.get("/v1/assets", params={"inferenceId": job["jobId"]}).json()["assets"]
    assert [a["id"] for a in outputs] == job["metadata"]["assetIds"]
    by_model = client.get("/v1/assets", params={"modelId": "tiny-sd15", "pageSize": 100}).json()["assets"]
    assert set(job["metadata"]["assetIds"]) <= {a["id"] for a in by_model}
    # The asset id is accepted as the image of a new request.
    again = client.post("/v1/generate/img2img", json={**body, "image": job["metadata"]["assetIds"][0]})
    assert again.status_code == 200 and again.json()["inference"]["imageId"] == job["metadata"]["assetIds"][0]
    wait_for(client, again.json()["job"]["jobId"])


def test_listing_filters_by_privacy_tags_collection_and_dates(client: httpx.Client) -> None:
    root = client.post("/v1/assets", json={"name": "r.png", "image": data_url(picture(16))}).json()["asset"]
    children = []
    for n in range(2):
        time.sleep(0.01)  # timestamps are shown to the millisecond
        body = {"name": f"{n}.png", "image": data_url(picture(16)), "parentId": root["id"]}
        children.append(client.post("/v1/assets", json=body).json()["asset"])
    first, second = children

    def ids(**params: str) -> list[str]:
        response = client.get("/v1/assets", params={"parentAssetId": root["id"], "sortDirection": "asc", **params})
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["assets"]]

    both = [first["id"], second["id"]]
    assert ids() == both
    assert first["privacy"] == "private" and first["tags"] == [] and first["collectionIds"] == []
    assert ids(privacy="private") == both
    assert ids(privacy="public") == ids(privacy="unlisted") == []
    assert ids(collectionId="collection_1") == []
    assert ids(tags="") == both
    assert ids(tags="cat") == ids(tags="cat,red") == []
    repeated = [("parentAssetId", root["id"]), ("tags", "cat"), ("tags", "red")]
    assert client.get("/v1/assets", params=repeated).json()["assets"] == []
    # Bounds are exclusive: an asset's own createdAt leaves it out.
    assert ids(createdAfter=first["createdAt"]) == [second["id"]]
    assert ids(createdBefore=second["createdAt"]) == [first["id"]]
    assert ids(createdAfter=first["createdAt"], createdBefore=second["createdAt"]) == []
    assert ids(createdAfter=root["createdAt"], createdBefore="9999-01-01T00:00:00Z") == both
    offset = datetime.fromisoformat(first["createdAt"]).astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert offset.endswith("-05:00") and ids(createdAfter=offset) == [second["id"]]
    assert ids(updatedAfter=first["updatedAt"], sortBy="updatedAt") == [second["id"]]
    assert ids(updatedBefore=second["updatedAt"], sortBy="updatedAt") == [first["id"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("privacy", "secret"),
        ("privacy", "Private"),
        ("createdAfter", "yesterday"),
        ("createdBefore", "2024-13-01T00:00:00Z"),
        ("updatedAfter", "2024-05-01T25:00:00Z"),
        ("updatedBefore", "1714564800"),
        ("updatedBefore", "9999-12-31T23:59:59-01:00"),  # later than any datetime in UTC
    ],
)
def test_a_bad_listing_filter_is_400_naming_the_field(client: httpx.Client, field: str, value: str) -> None:
    response = client.get("/v1/assets", params={field: value})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == field and body["reason"] == "invalid_request"
    if field == "privacy":
        assert "private, public, unlisted" in body["message"]


def test_a_lone_surrogate_in_a_name_or_an_id_is_400(client: httpx.Client) -> None:
    body = {"name": "cat\ud800.png", "image": data_url(picture(16))}
    response = client.post(
        "/v1/assets", content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "name"
    assert client.get("/v1/assets", params={"pageSize": 100}).status_code == 200
    content = json.dumps({"assetIds": ["asset_\ud800"]}).encode()
    deleted = client.request("DELETE", "/v1/assets", content=content, headers={"content-type": "application/json"})
    assert deleted.status_code == 400, deleted.text
    assert deleted.json()["field"] == "assetIds[0]"


def test_an_image_pillow_cannot_read_is_400_invalid_image(client: httpx.Client) -> None:
    short_ihdr = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x05IHDR\x00\x00\x00\x10\x00\x00\x00\x00\x00"
    response = client.post("/v1/assets", json={"name": "x.png", "image": base64.b64encode(short_ihdr).decode()})
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == "invalid_image"


@pytest.mark.parametrize(
    ("expires", "sig"),
    [
        ("\u00b2", "0" * 64),  # a unicode digit
        ("9" * 5000, "0" * 64),
        ("99999999999999", "0" * 64),  # more than 12 digits
        ("9999999999", "\u00e9" * 64),  # a non-ASCII signature
    ],
)
def test_a_tampered_signed_url_is_404(client: httpx.Client, expires: str, sig: str) -> None:
    asset = client.post("/v1/assets", json={"name": "s.png", "image": data_url(picture(16))}).json()["asset"]
    url = httpx.URL(asset["url"]).copy_with(params={"expires": expires, "sig": sig})
    response = httpx.get(url)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("raw", [b'{"o": 1e400}', b'{"o": 1000000000000000000000000000000}', b'{"o": 1.5}'])
@pytest.mark.parametrize("listing", ["/v1/assets", "/v1/jobs"])
def test_a_forged_pagination_token_is_400(client: httpx.Client, listing: str, raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get(listing, params={"paginationToken": token})
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == "invalid_pagination_token"


def test_asset_content_is_served_under_a_meaningful_file_name(client: httpx.Client) -> None:
    uploaded = client.post("/v1/assets", json={"name": "my sketch.png", "image": data_url(picture())}).json()
    body = {"modelId": "tiny-sd15", "prompt": "A Red Fox, at dusk!", "numSamples": 1, "numInferenceSteps": 1}
    job = wait_for(
        client,
        client.post("/v1/generate/txt2img", json={**body, "width": 64, "height": 64, "seed": "7"}).json()["job"][
            "jobId"
        ],
    )
    generated = client.get(f"/v1/assets/{job['metadata']['assetIds'][0]}").json()["asset"]
    names = {
        which: httpx.get(asset["url"]).headers["content-disposition"]
        for which, asset in (("uploaded", uploaded["asset"]), ("generated", generated))
    }
    assert names == {
        "uploaded": 'inline; filename="my sketch.png"',
        "generated": 'inline; filename="a-red-fox-at-dusk_tiny-sd15_7.png"',
    }
