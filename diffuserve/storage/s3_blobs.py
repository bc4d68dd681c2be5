"""Asset bytes in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...) through boto3."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from diffuserve.errors import ConfigError, NotFound
from diffuserve.storage.blobs import check_key

logger = logging.getLogger(__name__)

MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4 refuses presigned URLs that live longer than a week
_MISSING = {"NoSuchKey", "NotFound", "404"}
_NO_BUCKET = {"NoSuchBucket", "NotFound", "404"}
_DENIED = {"AccessDenied", "Forbidden", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


@dataclass(frozen=True)
class S3Options:
    """Where a bucket is and how to reach it; a None leaves the value to boto3's environment and config chain."""

    bucket: str
    prefix: str = ""  # "" or "some/folder/": prepended to every key
    endpoint_url: str | None = None  # None: AWS S3 itself
    public_endpoint_url: str | None = None  # host that presigned URLs name, when clients reach the store elsewhere
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    addressing_style: str | None = None  # None: "path" with an endpoint_url (MinIO, R2, moto), else boto3's choice


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _clients(options: S3Options) -> tuple[Any, Any]:
    """The client that moves bytes, and the one that signs URLs (the same unless a public endpoint is set)."""
    session = boto3.session.Session(
        aws_access_key_id=options.access_key,
        aws_secret_access_key=options.secret_key,
        region_name=options.region,
    )
    style = options.addressing_style or ("path" if options.endpoint_url else None)
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": style} if style else None,
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    client = session.client("s3", endpoint_url=options.endpoint_url, config=config)
    if options.public_endpoint_url is None:
        return client, client
    return client, session.client("s3", endpoint_url=options.public_endpoint_url, config=config)


class S3BlobStore:
    """Blobs as objects under `<prefix><key>` in one bucket; presigned GET URLs let clients fetch them directly."""

    def __init__(self, client: Any, bucket: str, *, prefix: str = "", presign_client: Any = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.presign_client = presign_client or client

    @classmethod
    def connect(cls, options: S3Options, *, create_bucket: bool = False) -> S3BlobStore:
        """A store whose bucket was reached (and created if asked); ConfigError says what is wrong otherwise."""
        client, presign_client = _clients(options)
        store = cls(client, options.bucket, prefix=options.prefix, presign_client=presign_client)
        store._check_bucket(create=create_bucket, region=options.region)
        logger.info(
            "s3 blob store ready bucket=%s prefix=%s endpoint=%s", store.bucket, store.prefix, client.meta.endpoint_url
        )
        return store

    def _check_bucket(self, *, create: bool, region: str | None) -> None:
        where = f"bucket {self.bucket!r} at {self.client.meta.endpoint_url}"
        try:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _error_code(exc) not in _NO_BUCKET:
                    raise
                if not create:
                    raise ConfigError(
                        f"{where} does not exist; create it, or add create_bucket=true to the blob store URL",
                        reason="bucket_not_found",
                    ) from None
                self._create_bucket(region)
        except NoCredentialsError as exc:
            raise ConfigError(
                f"no S3 credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                reason="blob_store_credentials",
            ) from exc
        except ClientError as exc:
            if _error_code(exc) in _DENIED:
                raise ConfigError(
                    f"{where} refused access ({_error_code(exc)}): check the S3 credentials",
                    reason="blob_store_credentials",
                ) from exc
            raise ConfigError(f"{where} answered {_error_code(exc)}: {exc}", reason="blob_store_unreachable") from exc
        except BotoCoreError as exc:
            raise ConfigError(f"cannot reach {where}: {exc}", reason="blob_store_unreachable") from exc

    def _create_bucket(self, region: str | None) -> None:
        params: dict[str, Any] = {"Bucket": self.bucket}
        if region and region not in ("us-east-1", "auto"):
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**params)
            logger.info("s3 bucket created bucket=%s", self.bucket)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":  # another process created it first
                raise

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> None:
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise NotFound(f"blob {key!r} does not exist", reason="blob_not_found") from exc
            raise
        with response["Body"] as body:
            data: bytes = body.read()
        return data

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    def presigned_url(self, key: str, expires_s: int) -> str:
        """A GET URL that needs no credentials until it expires (at most a week: SigV4's limit); signed offline."""
        if expires_s < 1:
            raise ValueError(f"expires_s must be at least 1, not {expires_s}")
        url: str = self.presign_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=min(expires_s, MAX_PRESIGN_S),
        )
        return url

    def __repr__(self) -> str:
        return (
            f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.client.meta.endpoint_url!r})"
        )
