"""The query parameters of GET /v1/assets and GET /v1/jobs as pydantic models: FastAPI reads and documents them,
the MCP listing and search tools validate their filters with them, and the services read them. Lenient where
Scenario is: numbers and booleans come as strings, lists as repeated or comma-separated parameters."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from diffuserve.service.wire_types import Integer, QueryFlag, Text, Timestamp, one_of, whole_range

PRIVACIES = ("private", "public", "unlisted")
MAX_ASSET_PAGE = 100
MAX_JOB_PAGE = 200


def _comma_list(value: Any) -> Any:
    """`a,b` or ["a", "b,c"] (repeated parameters) -> the names, blanks dropped."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        return value  # refused by the list[str] that follows
    names = [name.strip() for item in items for name in item.split(",") if name.strip()]
    return names or None


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


CommaList = Annotated[list[Text] | None, BeforeValidator(_comma_list)]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AssetQuery(_Query):
    """GET /v1/assets; hidden assets are left out."""

    inferenceId: Text | None = Field(default=None, description="Only the outputs of this job")
    modelId: Text | None = Field(default=None, description="Only images generated with this model")
    parentAssetId: Text | None = Field(default=None, description="Only direct children of this asset")
    rootAssetId: Text | None = Field(default=None, description="Only descendants of this root asset")
    authorId: Text | None = Field(default=None, description="Only assets created by this API key id")
    type: Text | None = Field(default=None, description="Only this asset type: uploaded or inference-<mode>")
    types: CommaList = Field(default=None, description="Asset types (repeated or comma-separated); not with type")
    privacy: Annotated[Text | None, one_of(PRIVACIES)] = Field(
        default=None, json_schema_extra={"enum": list(PRIVACIES)}
    )
    tags: CommaList = Field(default=None, description="Only assets that have all of these tags")
    collectionId: Text | None = None
    createdAfter: Timestamp = None
    createdBefore: Timestamp = None
    updatedAfter: Timestamp = None
    updatedBefore: Timestamp = None
    sortBy: Annotated[Text, one_of(("createdAt", "updatedAt"))] = Field(
        default="createdAt", json_schema_extra={"enum": ["createdAt", "updatedAt"]}
    )
    sortDirection: Annotated[Text, one_of(("asc", "desc")), BeforeValidator(_lower)] = Field(
        default="desc", json_schema_extra={"enum": ["asc", "desc"]}
    )
    pageSize: Annotated[Integer, whole_range(1, MAX_ASSET_PAGE)] = Field(
        default=50, json_schema_extra={"minimum": 1, "maximum": MAX_ASSET_PAGE}
    )
    paginationToken: Text | None = Field(default=None, description="nextPaginationToken of the previous page")
    originalAssets: QueryFlag = Field(default=False, description="Accepted; every URL serves the original file")


class JobQuery(_Query):
    """GET /v1/jobs, newest first."""

    status: Text | None = Field(default=None, description="Only jobs in these statuses (comma-separated)")
    type: Text | None = Field(default=None, description="Only jobs of this type (generations: inference)")
    types: CommaList = Field(default=None, description="Job types (repeated or comma-separated); wins over type")
    pageSize: Annotated[Integer, whole_range(1, MAX_JOB_PAGE)] = Field(
        default=10, json_schema_extra={"minimum": 1, "maximum": MAX_JOB_PAGE}
    )
    paginationToken: Text | None = Field(default=None, description="nextPaginationToken of the previous page")
    hideResults: QueryFlag | None = Field(
        default=None, description="false: leave out jobs that were created with hideResults=true"
    )
    authorId: Text | None = Field(default=None, description="Only jobs created by this API key id")


MODEL_PRIVACIES = ("private", "public")
MAX_MODEL_PAGE = 500


class ModelQuery(_Query):
    """GET /v1/models, in registry order. Every model served here is the server's own: `private`, `trained`."""

    privacy: Annotated[Text, one_of(MODEL_PRIVACIES)] = Field(
        default="private",
        description="private: the models this server runs (all of them); public: Scenario's public catalogue, "
        "which is not served here (an empty list)",
        json_schema_extra={"enum": list(MODEL_PRIVACIES)},
    )
    status: Text | None = Field(default=None, description="Only models in this status (every model here: trained)")
    pageSize: Annotated[Integer, whole_range(1, MAX_MODEL_PAGE)] = Field(
        default=100, json_schema_extra={"minimum": 1, "maximum": MAX_MODEL_PAGE}
    )
    paginationToken: Text | None = Field(default=None, description="nextPaginationToken of the previous page")
    collectionId: Text | None = Field(default=None, description="No collections here: a collection finds none")
    blacklisted: QueryFlag | None = Field(default=None, description="Accepted; no model is blacklisted here")
    loadedOnly: QueryFlag | None = Field(
        default=None, description="Accepted; every model is listed (a worker loads a model on first use)"
    )
    originalAssets: QueryFlag = Field(default=False, description="Accepted; every URL serves the original file")
