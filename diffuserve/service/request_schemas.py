"""The request bodies of the asset, upload, download, job-action, key and project endpoints as pydantic models
with Scenario's field names: one source for FastAPI (which parses them and documents them in /openapi.json), the
MCP tools that take the same bodies, and the services, which read them.

Lenient where Scenario is (see wire_types); every bound and enumeration lives here and is worded as the API words
it. Unknown fields are kept, so the response can name them in `warnings` (strict mode: a 400). What needs the
server's state (does the parent asset exist, can Pillow write AVIF) is the services' to check.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from diffuserve.service.wire_types import (
    MISSING,
    Flag,
    Integer,
    Text,
    WireBody,
    one_of,
    only,
    refuse,
    required,
    string_list,
)

MAX_DELETE = 100
MAX_FILE_BYTES = 64 * 1024 * 1024  # the same cap as one request body (api/limits.py)
MAX_PARTS = 100
# The content types a client may declare (image/jpg is a common misspelling) -> the one the upload records.
CONTENT_TYPES = {
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/webp": "image/webp",
}
KINDS = ("image", "asset")  # the kinds that produce an image asset; Scenario's other kinds need other media
MULTIPART = " for a multipart upload (fileName, contentType, fileSize, kind, parts)"
# Scenario's targetFormat names (jpg and tif are aliases) -> the format served.
TARGET_FORMATS = {
    "png": "png",
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "webp": "webp",
    "gif": "gif",
    "tiff": "tiff",
    "tif": "tiff",
    "avif": "avif",
}
ROLES = ("admin", "member", "read-only")


def _bounds(minimum: int, maximum: int) -> dict[str, Any]:
    return {"minimum": minimum, "maximum": maximum}


# -- assets --


class AssetCreate(WireBody):
    """POST /v1/assets: an image stored as an asset."""

    name: Annotated[Text, required(" (the original file name)")] = Field(
        default=MISSING, description="The original file name, e.g. 'sketch.png'"
    )
    image: Annotated[Text, required(" (base64 or a data URL)")] = Field(
        default=MISSING,
        description="The image: a data URL or bare base64 (PNG, JPEG or WebP); to the MCP tool over stdio also "
        "an absolute local file path (then `name` may be anything)",
    )
    hide: Flag = Field(default=False, description="true: leave the asset out of listings (still readable by id)")
    parentId: Text | None = Field(default=None, description="The id of an asset to record as this one's parent")


def _asset_ids(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise refuse("must be an array of asset ids")
    return value


def _delete_count(value: list[str]) -> list[str]:
    if not 1 <= len(value) <= MAX_DELETE:
        raise refuse(f"must hold 1 to {MAX_DELETE} ids, got {len(value)}")
    return value


class AssetsDelete(WireBody):
    """DELETE /v1/assets"""

    assetIds: Annotated[list[Text], AfterValidator(_delete_count), required(), BeforeValidator(_asset_ids)] = Field(
        default=MISSING,
        description="The assets to delete",
        json_schema_extra={"minItems": 1, "maxItems": MAX_DELETE},
    )


class DownloadRequest(WireBody):
    """POST /v1/assets/{assetId}/download"""

    targetFormat: Text | None = Field(
        default=None,
        description="png, jpeg/jpg, webp, gif, tiff/tif or avif (where the server can write it); omitted: the "
        "original file",
        json_schema_extra={"enum": list(TARGET_FORMATS)},
    )


# -- uploads --


def _unsupported_source(value: Any) -> Any:
    if value is not None:
        raise refuse(
            "is not supported here: send the file itself as a multipart upload (fileName, contentType, fileSize, "
            "kind, parts)",
            reason="unsupported_upload_source",
        )
    return value


def _kind(value: str) -> str:
    if value not in KINDS:
        raise refuse(
            "{value} is not supported here; uploads become image assets: kind must be image or asset",
            value=repr(value),
            reason="unsupported_kind",
        )
    return value


def _content_type(value: str) -> str:
    known = CONTENT_TYPES.get(value.split(";")[0].strip().lower())
    if known is None:
        raise refuse(
            "{value} is not supported; use image/png, image/jpeg or image/webp",
            value=repr(value),
            reason="unsupported_content_type",
        )
    return known


def _file_size(value: int) -> int:
    if not 1 <= value <= MAX_FILE_BYTES:
        shown = value if value < 10**20 else "a number of more than 20 digits"
        raise refuse(
            f"must be 1 to {MAX_FILE_BYTES} bytes, got {shown}",
            reason="file_too_large" if value > MAX_FILE_BYTES else "invalid_request",
        )
    return value


_NOT_HERE = "Scenario's upload from a URL or a model hub; not supported here (a 400): send the file itself"
UnsupportedSource = Annotated[Any, BeforeValidator(_unsupported_source)]


class UploadAssetOptions(WireBody):
    hide: Flag | None = Field(default=None, description="Hide the asset from listings")
    parentId: Text | None = Field(default=None, description="The parent asset's id")
    collectionIds: Annotated[list[Text] | None, string_list("strings")] = Field(
        default=None, description="Accepted and echoed; no collections here"
    )


# Fields are checked in this order, so a client sending Scenario's URL upload learns that first.
class UploadCreate(WireBody):
    """POST /v1/uploads: a file declared, to be sent in parts."""

    url: UnsupportedSource = Field(default=None, description=_NOT_HERE, json_schema_extra={"type": "string"})
    civitaiModelUrl: UnsupportedSource = Field(
        default=None, description=_NOT_HERE, json_schema_extra={"type": "string"}
    )
    huggingFaceModelName: UnsupportedSource = Field(
        default=None, description=_NOT_HERE, json_schema_extra={"type": "string"}
    )
    kind: Annotated[Text, AfterValidator(_kind), required(MULTIPART)] = Field(
        default=MISSING, description="What the file becomes: an image asset", json_schema_extra={"enum": list(KINDS)}
    )
    fileName: Annotated[Text, required(MULTIPART)] = Field(default=MISSING, description="The original file name")
    contentType: Annotated[Text, AfterValidator(_content_type), required(MULTIPART)] = Field(
        default=MISSING,
        description="The file's type (image/jpg and parameters such as ;charset are accepted too)",
        json_schema_extra={"enum": ["image/png", "image/jpeg", "image/webp"]},
    )
    fileSize: Annotated[Integer, AfterValidator(_file_size), required(MULTIPART)] = Field(
        default=MISSING,
        description=f"The file's size in bytes (at most {MAX_FILE_BYTES})",
        json_schema_extra=_bounds(1, MAX_FILE_BYTES),
    )
    parts: Annotated[Integer, required(MULTIPART)] = Field(
        default=MISSING,
        description=f"How many parts the file is sent in (one signed URL each; at most {MAX_PARTS}, and no more "
        "than fileSize)",
        json_schema_extra=_bounds(1, MAX_PARTS),
    )
    assetOptions: UploadAssetOptions | None = Field(default=None, description="How the asset is stored")

    @field_validator("parts")
    @classmethod
    def _parts(cls, value: int, info: ValidationInfo) -> int:
        most = min(MAX_PARTS, info.data.get("fileSize") or MAX_PARTS)
        if not 1 <= value <= most:
            raise refuse(f"must be 1 to {most} (at most {MAX_PARTS}, and no more than fileSize), got {value}")
        return value


class UploadAction(WireBody):
    """POST /v1/uploads/{uploadId}/action"""

    action: Annotated[Text, only("complete")] = Field(
        default=MISSING, description="complete: the parts become an asset", json_schema_extra={"enum": ["complete"]}
    )


# -- jobs, keys, projects --


class JobAction(WireBody):
    """POST /v1/jobs/{jobId}/action"""

    action: Annotated[Text, only("cancel")] = Field(
        default=MISSING, description="cancel: stop a queued or running job", json_schema_extra={"enum": ["cancel"]}
    )


class KeyCreate(WireBody):
    """POST /v1/keys"""

    role: Annotated[Text, one_of(ROLES)] = Field(
        default="member",
        description="admin manages the project's keys; member generates; read-only reads",
        json_schema_extra={"enum": list(ROLES)},
    )
    name: Text | None = Field(default=None, description="A label to recognise the key by")


class ProjectCreate(WireBody):
    """POST /v1/projects"""

    name: Annotated[Text, required(" (the project's name)")] = Field(
        default=MISSING, description="1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )
