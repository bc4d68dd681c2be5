"""The model registry: which models exist, where their files are, and what they can do. Kept in a YAML file."""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from diffuserve.catalog.types import IpAdapterType, Mode
from diffuserve.errors import InvalidRequest, ModelLoadError, NotFound


class ModelType(StrEnum):
    """Scenario's model types that diffuserve runs."""

    SD15 = "sd-1_5"
    SDXL = "sd-xl"
    SD15_LORA = "sd-1_5-lora"
    SDXL_LORA = "sd-xl-lora"

    @property
    def is_lora(self) -> bool:
        return self.value.endswith("-lora")

    @property
    def family(self) -> Literal["sd15", "sdxl"]:
        return "sdxl" if self.value.startswith("sd-xl") else "sd15"


class ModelSource(BaseModel):
    """Where a model's weights are.

    `folder`: a local diffusers folder. `single_file`: a local `.safetensors` checkpoint; `config` names a local
    diffusers folder (or hub repo id) holding the configs, needed offline. `hub`: a hub repo id, used when the
    machine has internet.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["folder", "single_file", "hub"]
    path: str
    config: str | None = None


class IpAdapterSet(BaseModel):
    """One IP-Adapter: its weights, the image encoder it needs, and how its scale applies.

    `weights` and `image_encoder` are local paths or hub references `owner/repo/sub/path`
    (e.g. `h94/IP-Adapter/models/ip-adapter-plus_sd15.safetensors`, `h94/IP-Adapter/models/image_encoder`).
    `scale_mode`: `global` scales every attention layer; `instantstyle` applies the scale to the style block
    only (`up.block_0`, the middle attention layer), InstantStyle's recipe for SDXL; `blocks` multiplies the
    scale into `scale_blocks`, a diffusers per-block dict such as InstantStyle's style + layout
    `{"up": {"block_0": [0, 1, 0]}, "down": {"block_2": [0, 1]}}` (blocks left out get 0).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: str
    image_encoder: str
    scale_mode: Literal["global", "instantstyle", "blocks"] = "global"
    scale_blocks: dict[str, float | list[float] | dict[str, float | list[float]]] | None = None

    @model_validator(mode="after")
    def _blocks_go_with_their_mode(self) -> IpAdapterSet:
        if (self.scale_mode == "blocks") != (self.scale_blocks is not None):
            raise ValueError("scale_blocks is given exactly when scale_mode is 'blocks'")
        return self


class ModelSpec(BaseModel):
    """A registered model."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)
    name: str
    type: ModelType
    source: ModelSource
    inpaint_source: ModelSource | None = None
    default_scheduler: str | None = None
    ip_adapters: dict[IpAdapterType, IpAdapterSet] = Field(default_factory=dict)
    compliant_model_ids: tuple[str, ...] = ()
    description: str = ""
    # The image side the model was trained at, for requests without width/height (default: the family's).
    default_size: int | None = Field(default=None, ge=64, le=2048, multiple_of=8)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """The modes this model can run, as Scenario capability names."""
        if self.type.is_lora:
            return (Mode.TXT2IMG.capability, Mode.IMG2IMG.capability, Mode.INPAINT.capability)
        modes = [Mode.TXT2IMG, Mode.IMG2IMG, Mode.INPAINT]
        if self.ip_adapters:
            modes += [Mode.TXT2IMG_IP_ADAPTER, Mode.IMG2IMG_IP_ADAPTER, Mode.INPAINT_IP_ADAPTER]
        return tuple(m.capability for m in modes)


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec] = Field(default_factory=list)


class Registry:
    """The registry file, read on every change so edits by hand are picked up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._models: dict[str, ModelSpec] = {}
        self._mtime: float | None = None

    def _load(self) -> dict[str, ModelSpec]:
        if not self.path.exists():
            return {}
        mtime = self.path.stat().st_mtime
        if mtime == self._mtime:
            return self._models
        try:
            raw = yaml.safe_load(self.path.read_text()) or {}
            parsed = _RegistryFile.model_validate(raw)
        except (yaml.YAMLError, ValidationError) as exc:
            # The server's own configuration is broken, not the request: a ModelLoadError (HTTP 500).
            raise ModelLoadError(f"registry file {self.path} is not valid: {exc}", reason="invalid_registry") from exc
        self._models = {m.id: m for m in parsed.models}
        self._mtime = mtime
        return self._models

    def _save(self, models: dict[str, ModelSpec]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"models": [m.model_dump(mode="json", exclude_defaults=True) for m in models.values()]}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))
        tmp.replace(self.path)
        self._mtime = None

    def list(self) -> list[ModelSpec]:
        with self._lock:
            return list(self._load().values())

    def get(self, model_id: str) -> ModelSpec:
        with self._lock:
            model = self._load().get(model_id)
        if model is None:
            raise NotFound(f"model {model_id!r} does not exist", reason="model_not_found")
        return model

    def add(self, model: ModelSpec, *, replace: bool = False) -> None:
        with self._lock:
            models = dict(self._load())
            if model.id in models and not replace:
                raise InvalidRequest(f"model {model.id!r} already exists", field="id", reason="model_exists")
            models[model.id] = model
            self._save(models)

    def remove(self, model_id: str) -> None:
        with self._lock:
            models = dict(self._load())
            if model_id not in models:
                raise NotFound(f"model {model_id!r} does not exist", reason="model_not_found")
            del models[model_id]
            self._save(models)
