"""The imagepipeline-style API: submit, poll status, webhook delivery with retries, and refused private URLs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from diffuserve.catalog.types import IpAdapterType
from diffuserve.engine.engine import Engine
from tests.service_helpers import LocalReceiver, RunningService, data_url, open_png, picture, run_service, wait_for


@pytest.fixture()
def receiver() -> Iterator[LocalReceiver]:
    r = LocalReceiver(refuse_first=True)
    yield r
    r.close()


@pytest.fixture()
def permissive(tmp_path: Path, engine: Engine) -> Iterator[RunningService]:
    """A service allowed to reach private addresses (the receiver is on 127.0.0.1)."""
    with run_service(tmp_path, engine, open_mode=True, fetch_allow_private=True, webhook_backoff_s=0.05) as s:
        yield s


def test_submit_poll_and_webhook(permissive: RunningService, receiver: LocalReceiver) -> None:
    body = {
        "model_id": "tiny-sd15",
        "prompt": "a lighthouse",
        "samples": 2,
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        "seed": -1,
        "init_image": f"{receiver.url}/image.png",
        "strength": 0.9,
        "webhook": f"{receiver.url}/hook",
        "unknown_field": True,
    }
    with permissive.client() as c:
        posted = c.post("/sd/text2image/v1", json=body)
        assert posted.status_code == 200, posted.text
        task = posted.json()
        assert task["status"] == "PENDING" and task["id"]
        deadline = time.monotonic() + 60
        while (status := c.get(f"/sdxl/text2image/v1/status/{task['id']}").json())["status"] == "PENDING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status["status"] == "SUCCESS", status
        assert len(status["download_urls"]) == 2
        assert open_png(httpx.get(status["download_urls"][0]).content).size == (64, 64)
        job = c.get(f"/v1/jobs/{task['id']}").json()["job"]
        assert job["metadata"]["input"]["type"] == "img2img"
    assert receiver.wait_for_call() == status
    assert receiver.attempts == 2


def test_ip_adapter_names_map_to_the_models_sets(permissive: RunningService, receiver: LocalReceiver) -> None:
    body = {
        "model_id": "sd",
        "prompt": "portrait",
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        "ip_adapter": "[ip-adapter-plus-face_sd15]",
        "ip_adapter_image": f"{receiver.url}/face.png",
        "ip_adapter_scale": [0.6],
    }
    with permissive.client() as c:
        posted = c.post("/sd/text2image/v1", json=body)
        assert posted.status_code in (200, 400), posted.text
        if posted.status_code == 400:  # the model has no character adapter: a clear refusal naming the field
            assert posted.json()["field"] == "ipAdapterType"
            return
        job = c.get(f"/v1/jobs/{posted.json()['id']}").json()["job"]
        assert job["metadata"]["input"]["ipAdapterType"] == "character"
        assert job["metadata"]["input"]["ipAdapterScales"] == [0.6]


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("init_image", "http://127.0.0.1:9/x.png"),
        ("init_image", "http://169.254.169.254/latest"),
        ("init_image", "http://10.1.2.3/x.png"),
        ("init_image", "http://[::1]/x.png"),
        ("init_image", "file:///etc/passwd"),
        ("webhook", "http://192.168.0.10/hook"),
        ("ip_adapter_image", "http://localhost/face.png"),
        ("init_image", "http://example.com:99999/x.png"),  # port out of range
        ("init_image", "http://[::1/x.png"),  # unclosed IPv6 bracket
        ("webhook", "http://example.com:99999/hook"),
        ("webhook", "http://[::1/hook"),
        ("init_image", "http://[2002:7f00:1::]/x.png"),  # 6to4 around 127.0.0.1
        ("init_image", "http://[2002:a00:1::]/x.png"),  # 6to4 around 10.0.0.1
        ("init_image", "http://[::ffff:10.0.0.1]/x.png"),  # IPv4-mapped
    ],
)
def test_private_and_non_http_urls_are_refused(client: httpx.Client, field: str, url: str) -> None:
    body: dict[str, Any] = {
        "model_id": "tiny-sd15",
        "prompt": "x",
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        field: url,
    }
    if field == "ip_adapter_image":
        body["ip_adapter"] = ["ip-adapter-plus_sd15"]
    response = client.post("/sd/text2image/v1", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == "url_not_allowed"
    assert response.json()["field"] == field


def test_unknown_task_is_404(client: httpx.Client) -> None:
    assert client.get("/sd/text2image/v1/status/job_unknown").status_code == 404


def test_too_many_ip_adapter_urls_are_refused_before_any_is_fetched(client: httpx.Client) -> None:
    # Had the URLs been fetched first, the private address would be the error.
    body = {
        "model_id": "tiny-sd15",
        "prompt": "x",
        "ip_adapter": ["ip-adapter-plus_sd15"],
        "ip_adapter_style_images": ["http://10.0.0.1/x.png"] * 9,
    }
    response = client.post("/sd/text2image/v1", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "ipAdapterImages allows at most 8 images, got 9"
    assert response.json()["field"] == "ip_adapter_style_images"


def test_a_lone_surrogate_in_the_prompt_is_400(client: httpx.Client) -> None:
    body = {"model_id": "tiny-sd15", "prompt": "a \ud800 fox"}
    content = json.dumps(body).encode()  # ASCII with \u escapes: the surrogate reaches the server intact
    response = client.post("/sd/text2image/v1", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "prompt"


@pytest.mark.parametrize(
    ("field", "value"),
    [("samples", 5), ("samples", 0), ("num_inference_steps", 101), ("guidance_scale", 0.5), ("guidance_scale", 21)],
)
def test_imagepipeline_documented_ranges_are_enforced(client: httpx.Client, field: str, value: float) -> None:
    body = {"model_id": "tiny-sd15", "prompt": "a lighthouse", "num_inference_steps": 2, "width": 64, "height": 64}
    response = client.post("/sd/text2image/v1", json={**body, field: value})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and "imagepipeline" in response.json()["message"]
    accepted = client.post("/sd/text2image/v1", json={**body, "samples": 4, "guidance_scale": 1})
    assert accepted.status_code == 200, accepted.text


def test_server_id_and_adapters_the_model_lacks_are_answered_honestly(
    client: httpx.Client, service: RunningService
) -> None:
    registry = service.app.state.container.stores.registry
    full = registry.get("tiny-sd15")
    style_only = full.model_copy(
        update={
            "id": "tiny-sd15-style-only",
            "ip_adapters": {IpAdapterType.STYLE: full.ip_adapters[IpAdapterType.STYLE]},
        }
    )
    registry.add(style_only, replace=True)
    body = {"model_id": "tiny-sd15-style-only", "prompt": "a face", "num_inference_steps": 2, "width": 64, "height": 64}
    refused = client.post("/sd/text2image/v1", json={**body, "server_id": "gpu-7"})
    assert refused.status_code == 400 and refused.json()["field"] == "server_id"
    face = (
        "data:image/png;base64,"
        + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
    )
    lacking = client.post(
        "/sd/text2image/v1", json={**body, "ip_adapter": ["ip-adapter-plus-face_sd15"], "ip_adapter_image": face}
    )
    assert lacking.status_code == 400, lacking.text
    error = lacking.json()
    assert error["field"] == "ip_adapter" and error["reason"] == "unknown_ip_adapter"
    assert "ip-adapter_sd15 (style)" in error["message"]  # what the model has
    both = client.post(
        "/sd/text2image/v1",
        json={
            **body,
            "model_id": "tiny-sd15",
            "ip_adapter": ["ip-adapter_sd15", "ip-adapter-plus-face_sd15"],
            "ip_adapter_image": face,
        },
    )
    assert both.status_code == 400 and both.json()["field"] == "ip_adapter_style_images"
    by_file = client.post(
        "/sd/text2image/v1", json={**body, "ip_adapter": ["ip-adapter_sd15"], "ip_adapter_image": face}
    )
    assert by_file.status_code == 200, by_file.text


def test_a_face_adapter_and_a_style_adapter_guide_one_request_each_with_its_scale(
    client: httpx.Client, service: RunningService
) -> None:
    """imagepipeline's core use: a face image for the face adapter and style images for the style adapter."""
    body = {
        "model_id": "tiny-sd15",
        "prompt": "a portrait",
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        "seed": 11,
        "ip_adapter": ["ip-adapter-plus-face_sd15", "ip-adapter_sd15"],
        "ip_adapter_image": data_url(picture(seed=1)),
        "ip_adapter_style_images": [data_url(picture(seed=2)), data_url(picture(seed=3))],
        "ip_adapter_scale": [0.6, 0.3],
    }
    task = client.post("/sd/text2image/v1", json=body)
    assert task.status_code == 200, task.text
    job = wait_for(client, task.json()["id"])
    assert job["status"] == "success", job
    sets = job["metadata"]["input"]["ipAdapters"]
    assert [(s["type"], len(s["imageIds"]), s["scales"]) for s in sets] == [
        ("character", 1, [0.6]),
        ("style", 2, [0.3, 0.3]),
    ]
    weaker = wait_for(
        client, client.post("/sd/text2image/v1", json={**body, "ip_adapter_scale": [0.6, 0.0]}).json()["id"]
    )
    first, second = (
        open_png(httpx.get(client.get(f"/v1/assets/{j['metadata']['assetIds'][0]}").json()["asset"]["url"]).content)
        for j in (job, weaker)
    )
    assert first.tobytes() != second.tobytes()  # the style adapter's scale matters
    mismatch = client.post("/sd/text2image/v1", json={**body, "ip_adapter_scale": [0.6, 0.3, 0.1]})
    assert mismatch.status_code == 400 and mismatch.json()["field"] == "ip_adapter_scale"
