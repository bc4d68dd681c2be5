"""Wire schemas of uploads and downloads, with Scenario's field names, for the OpenAPI document only (the
service layer reads the bodies, as in api/schemas.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class UploadAssetOptions(_Body):
    hide: bool | None = Field(default=None, description="Hide the asset from listings")
    parentId: str | None = Field(default=None, description="The parent asset's id")
    collectionIds: list[str] | None = Field(default=None, description="Accepted and echoed; no collections here")


class UploadCreate(_Body):
    fileName: str = Field(description="The original file name")
    contentType: Literal["image/png", "image/jpeg", "image/webp"]
    fileSize: int = Field(ge=1, description="The file's size in bytes (at most 64 MiB)")
    kind: Literal["image", "asset"] = Field(description="What the file becomes: an image asset")
    parts: int = Field(ge=1, le=100, description="How many parts the file is sent in (one signed URL each)")
    assetOptions: UploadAssetOptions | None = None


class UploadAction(_Body):
    action: Literal["complete"]


class DownloadRequest(_Body):
    targetFormat: str | None = Field(
        default=None, description="png, jpeg/jpg, webp, gif, tiff/tif or avif; omitted: the original file"
    )
