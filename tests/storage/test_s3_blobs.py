"""S3 blob stores against a real S3-compatible server (moto's standalone server, started once per session)."""

from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from PIL import Image, ImageDraw

from diffuserve.errors import ConfigError, NotFound
from diffuserve.storage.asset_repository import AssetRepository
from diffuserve.storage.asset_store import AssetStore, NewAsset
from diffuserve.storage.blob_stores import direct_url, open_blob_store
from diffuserve.storage.blobs import LocalBlobStore
from diffuserve.storage.database import Database
from diffuserve.storage.s3_blobs import MAX_PRESIGN_S, S3BlobStore
from tests.s3_server import check_presigned, free_port, s3_endpoint

__all__ = ["s3_endpoint"]  # the session fixture, imported so that pytest finds it here

SECRET = "moto-secret-key"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials from the environment, as in production; nothing from the developer's own ~/.aws."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


def _url(endpoint: str, bucket: str, prefix: str = "", **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"endpoint_url": endpoint, "region": "us-east-1", **options}.items())
    return f"s3://{bucket}{prefix}?{query}"


@pytest.fixture()
def store(s3_endpoint: str, tmp_path: Path) -> S3BlobStore:
    blobs = open_blob_store(_url(s3_endpoint, _bucket(), "/run/1", create_bucket="true"), tmp_path)
    assert isinstance(blobs, S3BlobStore)
    return blobs


def _png(size: int = 48) -> bytes:
    image = Image.new("RGB", (size, size), (40, 90, 160))
    ImageDraw.Draw(image).ellipse((8, 8, size - 8, size - 8), fill=(230, 200, 40))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_put_get_exists_delete_round_trip(store: S3BlobStore) -> None:
    key = "assets/ab/asset_ab12.png"
    assert not store.exists(key)
    store.put(key, b"first")
    store.put(key, b"\x89PNG bytes")
    assert store.exists(key) and store.get(key) == b"\x89PNG bytes"
    raw = store.client.head_object(Bucket=store.bucket, Key=f"run/1/{key}")
    assert raw["ContentType"] == "image/png"
    store.delete(key)
    store.delete(key)  # deleting a missing blob is not an error, as on local disk
    assert not store.exists(key)


def test_missing_key_is_not_found_and_bad_keys_are_refused(store: S3BlobStore) -> None:
    with pytest.raises(NotFound) as caught:
        store.get("previews/job_1/0.png")
    assert caught.value.reason == "blob_not_found"
    for bad in ("../etc/passwd", "/abs", "a//b", "sp ace.png"):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_prefixes_isolate_stores_in_one_bucket(s3_endpoint: str, tmp_path: Path) -> None:
    bucket = _bucket()
    a = open_blob_store(_url(s3_endpoint, bucket, "/tenant-a", create_bucket="true"), tmp_path)
    b = open_blob_store(_url(s3_endpoint, bucket, "/tenant-b"), tmp_path)
    a.put("previews/job_1/0.png", b"from a")
    assert not b.exists("previews/job_1/0.png")
    b.put("previews/job_1/0.png", b"from b")
    assert (a.get("previews/job_1/0.png"), b.get("previews/job_1/0.png")) == (b"from a", b"from b")


def test_open_blob_store_defaults_to_local_files(tmp_path: Path) -> None:
    for url in (None, "", "  "):
        default = open_blob_store(url, tmp_path)
        assert isinstance(default, LocalBlobStore) and default.root == tmp_path / "blobs"
    chosen = open_blob_store(f"file://{tmp_path / 'elsewhere'}", tmp_path)
    assert isinstance(chosen, LocalBlobStore) and chosen.root == tmp_path / "elsewhere"
    assert direct_url(chosen, "assets/ab/x.png", 60) is None


def test_open_blob_store_s3_with_keys_in_the_url(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    bucket = _bucket()
    url = _url(s3_endpoint, bucket, access_key="url-key", secret_key="url-secret", create_bucket="true")
    blobs = open_blob_store(url, tmp_path)
    assert isinstance(blobs, S3BlobStore) and blobs.prefix == ""
    blobs.put("assets/cd/asset_cd.png", b"bytes")
    assert open_blob_store(_url(s3_endpoint, bucket, access_key="k", secret_key="s"), tmp_path).exists(
        "assets/cd/asset_cd.png"
    )
    presigned = blobs.presigned_url("assets/cd/asset_cd.png", 60)
    assert "X-Amz-Credential=url-key%2F" in presigned
    assert check_presigned(presigned, "url-secret", now=datetime.now(UTC)) == "valid"
    assert "url-secret" not in repr(blobs)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/blobs",
        "file://",
        "file:///srv/blobs?x=1",
        "s3://",
        "s3://Bad_Bucket",
        "s3://ab",
        "s3://user@bucket",
        "s3://bucket:9000",
        "s3://bucket/a/../b",
        "s3://bucket?endpoint=http://127.0.0.1:9000",
        "s3://bucket?endpoint_url=ftp://127.0.0.1",
        "s3://bucket?region=us-east-1&region=eu-west-1",
        "s3://bucket?addressing_style=dns",
        "s3://bucket?secret_key=TOPSECRET",
        "s3://bucket?create_bucket=maybe&access_key=a&secret_key=TOPSECRET",
    ],
)
def test_malformed_urls_are_config_errors(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_blob_store(url, tmp_path)
    assert caught.value.reason == "invalid_blob_store_url"
    assert "TOPSECRET" not in caught.value.message


def test_missing_bucket_credentials_or_endpoint_are_config_errors(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as missing:
        open_blob_store(_url(s3_endpoint, _bucket()), tmp_path)
    assert missing.value.reason == "bucket_not_found" and "create_bucket=true" in missing.value.message
    started = time.monotonic()
    with pytest.raises(ConfigError) as unreachable:
        open_blob_store(_url(f"http://127.0.0.1:{free_port()}", _bucket()), tmp_path)
    assert unreachable.value.reason == "blob_store_unreachable"
    assert time.monotonic() - started < 10
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ConfigError) as no_credentials:
        open_blob_store(_url(s3_endpoint, _bucket()), tmp_path)
    assert (
        no_credentials.value.reason == "blob_store_credentials" and "AWS_ACCESS_KEY_ID" in no_credentials.value.message
    )


def test_presigned_url_needs_no_credentials_and_expires(store: S3BlobStore) -> None:
    data = _png()
    store.put("assets/ef/asset_ef.png", data)
    url = direct_url(store, "assets/ef/asset_ef.png", 600)
    assert url is not None and url.startswith(f"{store.client.meta.endpoint_url}/{store.bucket}/run/1/assets/")
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "image/png"
    # moto does not enforce presigned signatures; check them as S3 and MinIO do.
    now = datetime.now(UTC)
    assert check_presigned(url, SECRET, now=now) == "valid"
    assert check_presigned(url, SECRET, now=now + timedelta(seconds=601)) == "expired"
    assert check_presigned(url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000"), SECRET, now=now) == "bad signature"
    assert check_presigned(url, "another-secret", now=now) == "bad signature"
    week = store.presigned_url("assets/ef/asset_ef.png", 10 * MAX_PRESIGN_S)
    assert f"X-Amz-Expires={MAX_PRESIGN_S}" in week


def test_presigned_urls_can_name_a_public_endpoint(s3_endpoint: str, tmp_path: Path) -> None:
    url = _url(s3_endpoint, _bucket(), public_endpoint_url="https://cdn.example.com", create_bucket="true")
    blobs = open_blob_store(url, tmp_path)
    assert isinstance(blobs, S3BlobStore)
    presigned = blobs.presigned_url("assets/ab/x.png", 60)
    assert presigned.startswith(f"https://cdn.example.com/{blobs.bucket}/assets/ab/x.png?")
    assert check_presigned(presigned, SECRET, now=datetime.now(UTC)) == "valid"


def test_asset_store_on_s3_end_to_end(store: S3BlobStore, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.upgrade()
    try:
        assets = AssetStore(AssetRepository(db), store)
        data = _png(48)
        record = assets.create(data, NewAsset("cat.png", "uploaded", "uploaded", "author", "owner"))
        assert record.mime_type == "image/png" and (record.width, record.height) == (48, 48)
        assert store.client.get_object(Bucket=store.bucket, Key=f"run/1/{record.blob_key}")["Body"].read() == data
        again, read = AssetStore(AssetRepository(db), store).read(record.id)
        assert again.id == record.id and read == data
        assert assets.load_image(record.id, field_name="image").size == (48, 48)
        assets.delete([record.id])
        assert not store.exists(record.blob_key)
    finally:
        db.close()


def test_boto3_sees_the_same_objects(store: S3BlobStore, s3_endpoint: str) -> None:
    """Objects are plain S3 objects: any S3 client reads them under the prefix."""
    store.put("previews/job_9/2.png", b"preview")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=store.bucket, Prefix="run/1/")
    assert [o["Key"] for o in listed["Contents"]] == ["run/1/previews/job_9/2.png"]
