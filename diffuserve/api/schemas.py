"""Wire schemas, with Scenario's field names, for the OpenAPI document. Bodies are read by the service layer
(shared with MCP), so these describe the wire and do not gate it: unknown fields are ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from diffuserve.catalog.types import Mode


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class ConceptIn(_Body):
    modelId: str
    scale: float = Field(ge=-2, le=2)


class Txt2ImgCreate(_Body):
    modelId: str = Field(description="The model id to use for the inference")
    prompt: str
    negativePrompt: str | None = None
    seed: str | int | None = Field(default=None, description="String or number; random when omitted")
    numSamples: int = Field(default=4, ge=1, le=128)
    numInferenceSteps: int = Field(default=30, ge=1, le=150)
    guidance: float | None = Field(default=None, ge=0, le=20, description="Default 7.5 (SD 1.5), 6 (SDXL)")
    width: int | None = Field(default=None, ge=64, le=2048, description="Multiple of 8; SDXL: >= 512")
    height: int | None = Field(default=None, ge=64, le=2048, description="Multiple of 8; SDXL: >= 512")
    scheduler: str | None = Field(default=None, description="A diffusers scheduler class name")
    concepts: list[ConceptIn] | None = None
    hideResults: bool = False
    intermediateImages: bool = Field(
        default=False, description="Previews while running, in job.metadata.output.intermediateImages"
    )


class _IpAdapter(_Body):
    ipAdapterImages: list[str] | None = Field(default=None, description="Data URLs or asset ids")
    ipAdapterImageIds: list[str] | None = None
    ipAdapterImage: str | None = Field(default=None, description="Deprecated")
    ipAdapterImageId: str | None = Field(default=None, description="Deprecated")
    ipAdapterScales: list[float] | None = None
    ipAdapterScale: float | None = Field(default=None, ge=0, le=1, description="Deprecated")
    ipAdapterType: Literal["style", "character"] = "style"


class Img2ImgCreate(Txt2ImgCreate):
    image: str | None = Field(default=None, description="Data URL or asset id; wins over imageId")
    imageId: str | None = None
    imageParentId: str | None = None
    imageHide: bool = False
    strength: float = Field(default=0.75, ge=0.01, le=1)


class InpaintCreate(Img2ImgCreate):
    mask: str | None = Field(default=None, description="Data URL or asset id; white = area to replace")
    maskId: str | None = None
    disableMerging: bool = False


class Txt2ImgIpAdapterCreate(Txt2ImgCreate, _IpAdapter):
    pass


class Img2ImgIpAdapterCreate(Img2ImgCreate, _IpAdapter):
    pass


class InpaintIpAdapterCreate(InpaintCreate, _IpAdapter):
    pass


BODY_BY_MODE: dict[Mode, type[BaseModel]] = {
    Mode.TXT2IMG: Txt2ImgCreate,
    Mode.TXT2IMG_IP_ADAPTER: Txt2ImgIpAdapterCreate,
    Mode.IMG2IMG: Img2ImgCreate,
    Mode.IMG2IMG_IP_ADAPTER: Img2ImgIpAdapterCreate,
    Mode.INPAINT: InpaintCreate,
    Mode.INPAINT_IP_ADAPTER: InpaintIpAdapterCreate,
}


class AssetCreate(_Body):
    name: str = Field(description="The original file name")
    image: str = Field(description="Base64 image data or a data URL")
    hide: bool = False
    parentId: str | None = None


class AssetsDelete(_Body):
    assetIds: list[str]


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
