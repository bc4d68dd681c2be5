"""Picks the blob store from one URL setting; local files stay the default.

Accepted URLs:
    (none, or "")       LocalBlobStore under <data_dir>/blobs
    file://PATH         LocalBlobStore under PATH (file:///srv/blobs; a relative PATH is relative to the working folder)
    s3://BUCKET[/PREFIX][?OPTION=VALUE&...]
                        S3BlobStore over any S3-compatible service; keys become PREFIX/assets/ab/asset_x.png

S3 options (all optional):
    endpoint_url         http(s) URL of a non-AWS service: MinIO, Cloudflare R2, moto (default: AWS S3)
    public_endpoint_url  the host presigned URLs name, when browsers reach the service elsewhere than the server does
    region               e.g. us-east-1, auto for R2 (default: AWS_REGION / AWS_DEFAULT_REGION / ~/.aws/config)
    addressing_style     path or virtual (default: path with an endpoint_url, else boto3's choice)
    access_key, secret_key
                         both or neither; better left out: boto3 then reads AWS_ACCESS_KEY_ID and
                         AWS_SECRET_ACCESS_KEY (or a profile, or an instance role). Given, they win over those.
    create_bucket        true: create the bucket when it does not exist (local clusters); default false

e.g. s3://diffuserve/prod?endpoint_url=http://127.0.0.1:9000&region=us-east-1&create_bucket=true
A malformed URL, or a bucket that cannot be reached, raises ConfigError at start-up rather than at the first request.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from diffuserve.errors import ConfigError
from diffuserve.storage.blobs import BlobStore, LocalBlobStore, check_key
from diffuserve.storage.s3_blobs import S3BlobStore, S3Options

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_S3_OPTIONS = {
    "endpoint_url",
    "public_endpoint_url",
    "region",
    "addressing_style",
    "access_key",
    "secret_key",
    "create_bucket",
}
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@runtime_checkable
class PresigningBlobStore(BlobStore, Protocol):
    """A blob store whose objects clients can fetch directly, without the app in between."""

    def presigned_url(self, key: str, expires_s: int) -> str: ...


def open_blob_store(url: str | None, data_dir: Path) -> BlobStore:
    """The store a blob store URL names (see the module docstring); ConfigError when it is malformed or unreachable."""
    if url is None or not url.strip():
        return LocalBlobStore(data_dir / "blobs")
    url = url.strip()
    if url.startswith("file://"):
        return LocalBlobStore(_file_path(url))
    if url.startswith("s3://"):
        options, create_bucket = parse_s3_url(url)
        return S3BlobStore.connect(options, create_bucket=create_bucket)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ConfigError(
        f"blob store URL scheme {scheme!r} is not supported; use file://PATH or s3://BUCKET[/PREFIX]",
        reason="invalid_blob_store_url",
    )


def direct_url(blobs: BlobStore, key: str, expires_s: int) -> str | None:
    """A presigned URL for the blob when its store can make one (no network involved), else None."""
    if isinstance(blobs, PresigningBlobStore):
        return blobs.presigned_url(key, expires_s)
    return None


def _invalid(message: str) -> ConfigError:
    return ConfigError(f"blob store URL: {message}", reason="invalid_blob_store_url")


def _file_path(url: str) -> Path:
    raw = url.removeprefix("file://")
    if not raw or "?" in raw or "#" in raw:
        raise _invalid("file:// needs a folder path and takes no query, e.g. file:///srv/diffuserve/blobs")
    return Path(unquote(raw)).expanduser()


def parse_s3_url(url: str) -> tuple[S3Options, bool]:
    """`s3://BUCKET[/PREFIX]?...` to options and create_bucket; never echoes the secret key in an error."""
    parts = urlsplit(url)
    if parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
        raise _invalid("write s3://BUCKET[/PREFIX]?options, with no user, port or #fragment in it")
    bucket = parts.hostname or ""
    if not _BUCKET.match(bucket) or ".." in bucket or parts.netloc != bucket:
        raise _invalid(f"{parts.netloc!r} is not a bucket name (3-63 lowercase letters, digits, dots, hyphens)")
    prefix = parts.path.strip("/")
    if prefix:
        try:
            check_key(prefix)
        except ValueError:
            raise _invalid(f"prefix {prefix!r} must be slash-separated names of letters, digits, . _ -") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - _S3_OPTIONS)
    if unknown:
        raise _invalid(f"unknown option {unknown[0]!r}; known: {', '.join(sorted(_S3_OPTIONS))}")
    values: dict[str, str] = {}
    for name, given in query.items():
        if len(given) != 1 or not given[0]:
            raise _invalid(f"option {name!r} needs exactly one non-empty value")
        values[name] = given[0]
    for name in ("endpoint_url", "public_endpoint_url"):
        if name in values:
            endpoint = urlsplit(values[name])
            if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
                raise _invalid(f"{name} must be an http:// or https:// URL, e.g. http://127.0.0.1:9000")
    if values.get("addressing_style", "path") not in ("path", "virtual"):
        raise _invalid("addressing_style must be path or virtual")
    if ("access_key" in values) != ("secret_key" in values):
        raise _invalid("give both access_key and secret_key, or neither (then AWS_ACCESS_KEY_ID/... are used)")
    create = _BOOLS.get(values.get("create_bucket", "false").lower())
    if create is None:
        raise _invalid("create_bucket must be true or false")
    options = S3Options(
        bucket=bucket,
        prefix=f"{prefix}/" if prefix else "",
        endpoint_url=values.get("endpoint_url"),
        public_endpoint_url=values.get("public_endpoint_url"),
        region=values.get("region"),
        access_key=values.get("access_key"),
        secret_key=values.get("secret_key"),
        addressing_style=values.get("addressing_style"),
    )
    return options, create
