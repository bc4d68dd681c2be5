"""Multipart uploads and asset downloads over real HTTP: create, PUT parts at their signed URLs, complete -> an
asset; what is refused and why; POST /v1/assets/{id}/download; and the official scenario-sdk doing the same."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import update

from diffuserve.service.request_schemas import MAX_FILE_BYTES
from diffuserve.service.signing import upload_part_path
from diffuserve.service.uploads import part_key
from diffuserve.storage.tables import UploadRow
from tests.service_helpers import RunningService, picture, png


def _encoded(fmt: str, size: int = 96) -> bytes:
    buf = io.BytesIO()
    picture(size).save(buf, format=fmt)
    return buf.getvalue()


def _chunks(data: bytes, parts: int) -> list[bytes]:
    step = -(-len(data) // parts)
    return [data[i * step : (i + 1) * step] for i in range(parts)]


def _create(client: httpx.Client, data: bytes, parts: int, **extra: Any) -> dict[str, Any]:
    body = {"fileName": "cat.png", "contentType": "image/png", "fileSize": len(data), "kind": "image", "parts": parts}
    response = client.post("/v1/uploads", json={**body, **extra})
    assert response.status_code == 200, response.text
    upload: dict[str, Any] = response.json()["upload"]
    return upload


def _send(upload: dict[str, Any], chunks: list[bytes]) -> None:
    """Each part to its URL, last part first (order of arrival does not matter), without credentials."""
    for part, chunk in reversed(list(zip(upload["parts"], chunks, strict=True))):
        sent = httpx.put(part["url"], content=chunk)
        assert sent.status_code == 200, sent.text
        assert sent.headers["etag"] == f'"{hashlib.md5(chunk).hexdigest()}"'


def _complete(client: httpx.Client, upload_id: str) -> httpx.Response:
    return client.post(f"/v1/uploads/{upload_id}/action", json={"action": "complete"})


def _error(response: httpx.Response, status: int, reason: str, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["reason"] == reason and body["message"], body
    assert body.get("field") == field, body
    message: str = body["message"]
    return message


def _age(service: RunningService, upload_id: str) -> None:
    """Moves an upload's deadline into the past, as if a day had gone by."""
    with service.app.state.container.stores.db.session() as s:
        s.execute(
            update(UploadRow).where(UploadRow.id == upload_id).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )


def test_a_file_sent_in_parts_becomes_an_asset(client: httpx.Client, service: RunningService) -> None:
    data = png(picture(96))
    upload = _create(client, data, 3)
    assert upload["id"].startswith("upload_") and upload["status"] == "pending"
    assert (upload["source"], upload["kind"], upload["fileName"], upload["fileSize"]) == (
        "multipart",
        "image",
        "cat.png",
        len(data),
    )
    assert upload["partsCount"] == 3 and [p["number"] for p in upload["parts"]] == [1, 2, 3]
    assert all(p["url"].startswith(f"{service.base_url}/v1/uploads/{upload['id']}/parts/") for p in upload["parts"])
    assert upload["parts"][0]["expires"].endswith("Z") and upload["authorId"] and upload["ownerId"]

    _send(upload, _chunks(data, 3))
    pending = client.get(f"/v1/uploads/{upload['id']}").json()["upload"]
    assert pending["status"] == "pending" and "entityId" not in pending

    done = _complete(client, upload["id"])
    assert done.status_code == 200, done.text
    imported = done.json()["upload"]
    assert imported["status"] == "imported" and "parts" not in imported
    asset = client.get(f"/v1/assets/{imported['entityId']}").json()["asset"]
    assert (asset["source"], asset["metadata"]["type"], asset["metadata"]["name"]) == (
        "uploaded",
        "uploaded",
        "cat.png",
    )
    assert (asset["mimeType"], asset["properties"]["width"], asset["properties"]["size"]) == (
        "image/png",
        96,
        len(data),
    )
    assert httpx.get(asset["url"]).content == data
    blobs = service.services.uploads.blobs
    assert not any(blobs.exists(part_key(upload["id"], n)) for n in (1, 2, 3))

    # Completing again answers the same upload; parts are no longer taken.
    again = _complete(client, upload["id"]).json()["upload"]
    assert again["entityId"] == imported["entityId"]
    _error(httpx.put(upload["parts"][0]["url"], content=b"x"), 409, "upload_not_pending")


def test_jpeg_and_webp_uploads_keep_their_bytes_and_asset_options_apply(client: httpx.Client) -> None:
    parent = client.post("/v1/assets", json={"name": "p.png", "image": base64.b64encode(png(picture(16))).decode()})
    parent_id = parent.json()["asset"]["id"]
    for fmt, mime in (("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        data = _encoded(fmt)
        options = {"hide": True, "parentId": parent_id, "collectionIds": []}
        upload = _create(client, data, 2, contentType=mime, fileName=f"x.{fmt.lower()}", assetOptions=options)
        assert upload["assetOptions"] == options
        _send(upload, _chunks(data, 2))
        asset_id = _complete(client, upload["id"]).json()["upload"]["entityId"]
        asset = client.get(f"/v1/assets/{asset_id}").json()["asset"]
        assert asset["mimeType"] == mime and asset["metadata"]["parentId"] == parent_id
        assert httpx.get(asset["url"]).content == data
        listed = client.get("/v1/assets", params={"parentAssetId": parent_id}).json()["assets"]
        assert asset_id not in {a["id"] for a in listed}  # hidden


def test_bytes_that_are_no_accepted_image_fail_the_upload_with_400(
    client: httpx.Client, service: RunningService
) -> None:
    for data, reason in (
        (b"this is not an image at all" * 4, "invalid_image"),
        (_encoded("GIF"), "unsupported_image_type"),
    ):
        upload = _create(client, data, 2)
        _send(upload, _chunks(data, 2))
        message = _error(_complete(client, upload["id"]), 400, reason, "file")
        failed = client.get(f"/v1/uploads/{upload['id']}").json()["upload"]
        assert (failed["status"], failed["errorMessage"]) == ("failed", message)
        assert "entityId" not in failed and "parts" not in failed
        assert not service.services.uploads.blobs.exists(part_key(upload["id"], 1))
        _error(_complete(client, upload["id"]), 409, "upload_not_pending")


def test_missing_parts_or_a_wrong_total_leave_the_upload_pending(client: httpx.Client) -> None:
    data = png(picture(64))
    chunks = _chunks(data, 3)
    upload = _create(client, data, 3)
    httpx.put(upload["parts"][0]["url"], content=chunks[0]).raise_for_status()
    httpx.put(upload["parts"][2]["url"], content=chunks[2]).raise_for_status()
    assert "part(s) 2 of 3" in _error(_complete(client, upload["id"]), 400, "missing_parts", "parts")
    assert client.get(f"/v1/uploads/{upload['id']}").json()["upload"]["status"] == "pending"
    httpx.put(upload["parts"][1]["url"], content=chunks[1][:-1]).raise_for_status()  # one byte short
    _error(_complete(client, upload["id"]), 400, "size_mismatch", "fileSize")
    httpx.put(upload["parts"][1]["url"], content=chunks[1]).raise_for_status()  # sent again: replaces
    assert _complete(client, upload["id"]).json()["upload"]["status"] == "imported"


def test_bad_parts_and_bad_part_urls_are_refused(client: httpx.Client, service: RunningService) -> None:
    data = png(picture(64))
    upload = _create(client, data, 2)
    url = upload["parts"][0]["url"]
    _error(httpx.put(url, content=b""), 400, "empty_part", "body")
    _error(httpx.put(url, content=data + b"x"), 400, "upload_too_large", "fileSize")
    # Forged, tampered, missing and expired signatures are refused before anything is read.
    _error(httpx.put(url[:-4] + "0000", content=b"x"), 404, "invalid_signature")
    _error(httpx.put(url.replace("/parts/1?", "/parts/2?"), content=b"x"), 404, "invalid_signature")
    _error(httpx.put(url.split("?")[0], content=b"x"), 404, "invalid_signature")
    signer = service.services.signer
    expired = signer.sign_until(upload_part_path(upload["id"], 1), int(time.time()) - 1)
    _error(httpx.put(expired, content=b"x"), 404, "invalid_signature")
    # A part number the upload does not have, even at a well-signed URL.
    beyond = signer.sign_until(upload_part_path(upload["id"], 3), int(time.time()) + 60)
    _error(httpx.put(beyond, content=b"x"), 400, "invalid_request", "partNumber")
    assert client.get(f"/v1/uploads/{upload['id']}").json()["upload"]["status"] == "pending"


def test_create_checks_the_declared_file(client: httpx.Client) -> None:
    good = {"fileName": "a.png", "contentType": "image/png", "fileSize": 100, "kind": "image", "parts": 2}
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({**good, "fileName": None}, 400, "missing_field", "fileName"),
        ({**good, "parts": None}, 400, "missing_field", "parts"),
        ({**good, "contentType": "image/gif"}, 400, "unsupported_content_type", "contentType"),
        ({**good, "kind": "model"}, 400, "unsupported_kind", "kind"),
        ({**good, "fileSize": MAX_FILE_BYTES + 1}, 400, "file_too_large", "fileSize"),
        ({**good, "fileSize": 1.5}, 400, "invalid_request", "fileSize"),
        ({**good, "parts": 0}, 400, "invalid_request", "parts"),
        ({**good, "parts": 101, "fileSize": 1000}, 400, "invalid_request", "parts"),
        ({**good, "url": "https://example.com/a.png"}, 400, "unsupported_upload_source", "url"),
        ({**good, "assetOptions": {"hide": "maybe"}}, 400, "invalid_request", "assetOptions.hide"),
        ({**good, "assetOptions": [1]}, 400, "invalid_request", "assetOptions"),
        ({**good, "assetOptions": {"parentId": "asset_nope"}}, 404, "asset_not_found", None),
    ]
    for body, status, reason, field in cases:
        _error(client.post("/v1/uploads", json=body), status, reason, field)
    _error(client.post("/v1/uploads", json=[1]), 400, "invalid_request", "body")
    for flag in ("true", "api"):
        dry = client.post("/v1/uploads", params={"dryRun": flag}, json=good)
        assert (dry.status_code, dry.json()) == (269, {"creativeUnitsCost": 0})
    upload = _create(client, b"x" * 100, 2, contentType="image/jpg")  # a common misspelling, taken as JPEG
    assert upload["contentType"] == "image/jpeg"
    _error(
        client.post(f"/v1/uploads/{upload['id']}/action", json={"action": "cancel"}), 400, "invalid_request", "action"
    )


def test_unknown_ids_and_missing_credentials(client: httpx.Client, service: RunningService) -> None:
    _error(client.get("/v1/uploads/upload_nope"), 404, "upload_not_found")
    _error(_complete(client, "upload_nope"), 404, "upload_not_found")
    _error(client.post("/v1/assets/asset_nope/download"), 404, "asset_not_found")
    with service.client() as anonymous:
        assert anonymous.post("/v1/uploads", json={}).status_code == 401
        assert anonymous.get("/v1/uploads/upload_nope").status_code == 401


def test_an_upload_past_its_deadline_fails_and_its_parts_go(client: httpx.Client, service: RunningService) -> None:
    data = png(picture(32))
    upload = _create(client, data, 2)
    httpx.put(upload["parts"][0]["url"], content=_chunks(data, 2)[0]).raise_for_status()
    _age(service, upload["id"])
    failed = client.get(f"/v1/uploads/{upload['id']}").json()["upload"]
    assert (failed["status"], failed["errorMessage"]) == ("failed", "the upload expired before it was completed")
    assert not service.services.uploads.blobs.exists(part_key(upload["id"], 1))
    _error(httpx.put(upload["parts"][1]["url"], content=b"x"), 409, "upload_not_pending")
    _error(_complete(client, upload["id"]), 409, "upload_not_pending")

    # Expired uploads nobody asks about are swept when a new upload is created.
    forgotten = _create(client, data, 1)
    httpx.put(forgotten["parts"][0]["url"], content=data).raise_for_status()
    _age(service, forgotten["id"])
    _create(client, data, 1)
    assert not service.services.uploads.blobs.exists(part_key(forgotten["id"], 1))
    assert client.get(f"/v1/uploads/{forgotten['id']}").json()["upload"]["status"] == "failed"


@pytest.mark.parametrize(
    ("target", "mime", "pil_format"),
    [
        (None, "image/png", "PNG"),
        ("png", "image/png", "PNG"),
        ("jpg", "image/jpeg", "JPEG"),
        ("JPEG", "image/jpeg", "JPEG"),
        ("webp", "image/webp", "WEBP"),
        ("gif", "image/gif", "GIF"),
        ("tif", "image/tiff", "TIFF"),
        ("avif", "image/avif", "AVIF"),
    ],
)
def test_download_answers_a_signed_url_in_the_format_asked_for(
    client: httpx.Client, target: str | None, mime: str, pil_format: str
) -> None:
    original = png(picture(40))
    asset = client.post("/v1/assets", json={"name": "d.png", "image": base64.b64encode(original).decode()})
    asset_id = asset.json()["asset"]["id"]
    response = client.post(f"/v1/assets/{asset_id}/download", json={"targetFormat": target} if target else None)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"url", "mimeType"} and response.json()["mimeType"] == mime
    fetched = httpx.get(response.json()["url"])
    assert fetched.status_code == 200 and fetched.headers["content-type"] == mime
    if target in (None, "png"):
        assert fetched.content == original  # the original file itself
    image = Image.open(io.BytesIO(fetched.content))
    assert (image.format, image.size) == (pil_format, (40, 40))


def test_download_refuses_formats_and_urls_it_does_not_serve(client: httpx.Client) -> None:
    raw = base64.b64encode(png(picture(24))).decode()
    asset_id = client.post("/v1/assets", json={"name": "e.png", "image": raw}).json()["asset"]["id"]
    for target in ("svg", "mp4", "heif"):
        response = client.post(f"/v1/assets/{asset_id}/download", json={"targetFormat": target})
        _error(response, 400, "unsupported_format", "targetFormat")
    url = client.post(f"/v1/assets/{asset_id}/download", json={"targetFormat": "jpeg"}).json()["url"]
    assert httpx.get(url).status_code == 200
    _error(httpx.get(url.replace("/content/jpeg?", "/content/webp?")), 404, "invalid_signature")
    _error(httpx.get(url.split("?")[0]), 404, "invalid_signature")


def test_the_official_scenario_sdk_uploads_and_downloads(service: RunningService, credentials: tuple[str, str]) -> None:
    from scenario_sdk import NotFoundError, Scenario

    key, secret = credentials
    sdk = Scenario(api_key=key, api_secret=secret, base_url=f"{service.base_url}/v1", max_retries=0)
    data = png(picture(80, seed=3))
    created = sdk.uploads.create(
        file_name="sdk.png", content_type="image/png", file_size=len(data), kind="image", parts=2
    ).upload
    assert created.status == "pending" and created.parts is not None and len(created.parts) == 2
    for part, chunk in zip(created.parts, _chunks(data, 2), strict=True):
        httpx.put(part.url, content=chunk).raise_for_status()
    completed = sdk.uploads.trigger_action(created.id, action="complete").upload
    assert completed.status == "imported" and completed.entity_id
    assert sdk.uploads.retrieve(created.id).upload.entity_id == completed.entity_id

    asset = sdk.assets.retrieve(completed.entity_id).asset
    assert asset.id == completed.entity_id and httpx.get(asset.url).content == data
    download = sdk.assets.download.request(completed.entity_id)
    assert download.mime_type == "image/png" and httpx.get(download.url).content == data
    as_jpeg = sdk.assets.download.request(completed.entity_id, target_format="jpeg")
    assert as_jpeg.mime_type == "image/jpeg"
    assert Image.open(io.BytesIO(httpx.get(as_jpeg.url).content)).format == "JPEG"
    with pytest.raises(NotFoundError):
        sdk.uploads.retrieve("upload_nope")


def test_the_openapi_document_lists_uploads_and_download(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"post"} <= set(paths["/v1/uploads"]) and {"get"} <= set(paths["/v1/uploads/{uploadId}"])
    assert (
        "post" in paths["/v1/uploads/{uploadId}/action"] and "put" in paths["/v1/uploads/{uploadId}/parts/{partNumber}"]
    )
    assert "post" in paths["/v1/assets/{assetId}/download"]
