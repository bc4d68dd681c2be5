"""Request bodies of the non-generate endpoints, with Scenario's field names, for the OpenAPI document; the service
layer (shared with MCP) reads them. The generate bodies are service/generate_schemas.py, which FastAPI parses."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class AssetCreate(_Body):
    name: str = Field(description="The original file name")
    image: str = Field(description="Base64 image data or a data URL")
    hide: bool = False
    parentId: str | None = None


class AssetsDelete(_Body):
    assetIds: list[str]


class KeyCreate(_Body):
    role: Literal["admin", "member", "read-only"] = Field(
        default="member", description="admin manages the project's keys; member generates; read-only reads"
    )
    name: str | None = Field(default=None, description="A label to recognise the key by")


class ProjectCreate(_Body):
    name: str = Field(description="1-64 letters, digits, '.', '_' or '-'")


class JobAction(_Body):
    action: Literal["cancel"]


class ImagePipelineCreate(_Body):
    model_id: str = Field(description="A registered model id, or sd / sdxl for the first model of the family")
    prompt: str
    negative_prompt: str | None = None
    samples: int = Field(default=1, ge=1, le=4)
    num_inference_steps: int = Field(default=20, ge=1, le=100)
    guidance_scale: float = 7.5
    width: int | None = None
    height: int | None = None
    seed: int = Field(default=-1, description="-1 for random")
    scheduler: str | None = None
    init_image: str | None = Field(default=None, description="URL of an image for img2img")
    strength: float | None = None
    ip_adapter: list[str] | str | None = None
    ip_adapter_image: str | list[str] | None = None
    ip_adapter_style_images: list[str] | None = None
    ip_adapter_scale: list[float] | float | None = None
    webhook: str | None = Field(default=None, description="Receives the status JSON once the job ends")


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline_refs(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra that documents a body the route reads as a plain JSON object. Nested models are inlined:
    pydantic's `#/$defs/...` refs would point at the root of the OpenAPI document, where nothing is (ReDoc and
    Swagger UI fail on them)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_refs(schema, defs)}},
        }
    }
