"""The imagepipeline.io-style request body (spec §6) as a pydantic model with its snake_case names: FastAPI parses
and documents it, the service reads it. Lenient as imagepipeline is: one URL or a list of them, one scale or a
list, adapter names as a list or a bracketed string; the documented ranges (its "IP Adapters" and SDXL
base-model pages; spec §6.2) are checked here and worded as imagepipeline's."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, WithJsonSchema

from diffuserve.service.wire_types import (
    MISSING,
    Integer,
    Number,
    Text,
    WireBody,
    in_range,
    refuse,
    required,
    unicode_text,
)


def documented(low: float, high: float) -> AfterValidator:
    """One of imagepipeline's documented ranges."""
    return in_range(low, high, words="must be in [{low}, {high}] (imagepipeline's documented range)")


def _default(default: float) -> BeforeValidator:
    """null means the default, as leaving the field out does."""
    return BeforeValidator(lambda value: default if value is None else value)


def _urls(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [unicode_text(value)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [unicode_text(v) for v in value]
    raise refuse("must be a URL or a list of URLs")


def _names(value: Any) -> list[str]:
    """ip_adapter comes as a list or as a bracketed string like "[ip-adapter-plus-face_sd15]"."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\[\],\s\"']+", value) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise refuse("must be a list of adapter names")


def _listed(value: Any) -> Any:
    return value if value is None or isinstance(value, list) else [value]


def _no_server(value: Any) -> Any:
    if value not in (None, ""):
        raise refuse(
            "names an imagepipeline dedicated server; this server runs every request itself, so leave server_id out"
        )
    return None


_ONE_OR_MORE = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
Urls = Annotated[list[str], BeforeValidator(_urls), WithJsonSchema({**_ONE_OR_MORE, "description": "URL(s)"})]


class ImagePipelineCreate(WireBody):
    """POST /sd/text2image/v1 and /sdxl/text2image/v1"""

    model_id: Text | None = Field(
        default=None, description="A registered model id, or sd / sdxl for the first model of the family"
    )
    prompt: Annotated[Text, required(allow_empty=True)] = Field(default=MISSING, description="What the image shows")
    negative_prompt: Text | None = None
    samples: Annotated[Integer, documented(1, 4), _default(1)] = Field(
        default=1, json_schema_extra={"minimum": 1, "maximum": 4}
    )
    num_inference_steps: Annotated[Integer, documented(1, 100), _default(20)] = Field(
        default=20,
        validation_alias=AliasChoices("num_inference_steps", "num_inference_step"),
        json_schema_extra={"minimum": 1, "maximum": 100},
    )
    guidance_scale: Annotated[Number, documented(1, 20), _default(7.5)] = Field(
        default=7.5, json_schema_extra={"minimum": 1, "maximum": 20}
    )
    width: Integer | None = None
    height: Integer | None = None
    seed: Integer | None = Field(default=None, description="-1 or none for random")
    scheduler: Text | None = None
    init_image: Urls = Field(default_factory=list, description="URL of an image for img2img")
    strength: Annotated[Number | None, documented(0, 1)] = Field(
        default=None, json_schema_extra={"minimum": 0, "maximum": 1}
    )
    ip_adapter: Annotated[list[str], BeforeValidator(_names), WithJsonSchema(_ONE_OR_MORE)] = Field(
        default_factory=list, description="Adapter names, e.g. [ip-adapter-plus-face_sd15]"
    )
    ip_adapter_image: Urls = Field(default_factory=list, description="Face (or reference) image URL(s)")
    ip_adapter_style_images: Urls = Field(default_factory=list, description="Style reference image URLs")
    ip_adapter_scale: Annotated[list[Number] | None, BeforeValidator(_listed)] = Field(
        default=None, description="One scale per adapter, or one for all"
    )
    webhook: Text | None = Field(default=None, description="Receives the status JSON once the job ends")
    server_id: Annotated[Any, BeforeValidator(_no_server), WithJsonSchema({"type": "string"})] = Field(
        default=None, description="imagepipeline's dedicated servers; leave it out here"
    )
