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
    SD15_COMPOSITION = "sd-1_5-composition"
    SDXL_COMPOSITION = "sd-xl-composition"
    FLUX1 = "flux.1"
    FLUX1_KREA = "flux.1-krea-dev"
    FLUX1_KONTEXT = "flux.1-kontext-dev"
    FLUX1_LORA = "flux.1-lora"
    FLUX1_KREA_LORA = "flux.1-krea-lora"
    FLUX1_KONTEXT_LORA = "flux.1-kontext-lora"
    FLUX1_COMPOSITION = "flux.1-composition"
    FLUX2 = "flux.2"
    FLUX2_LORA = "flux.2-lora"
    FLUX2_DEV = "flux.2-dev"
    FLUX2_DEV_LORA = "flux.2-dev-lora"

    @property
    def is_lora(self) -> bool:
        return self.value.endswith("-lora")

    @property
    def is_composition(self) -> bool:
        """A base model plus a fixed set of LoRAs, runnable by its own id."""
        return self.value.endswith("-composition")

    @property
    def runs_on_base(self) -> bool:
        """LoRAs and compositions have no weights of their own to run: they run on a registered base model."""
        return self.is_lora or self.is_composition

    @property
    def wire_type(self) -> str:
        """The type Scenario's model objects show: the value, except FLUX.2, which Scenario's type list lacks
        (`custom` there; the registry keeps `flux.2`)."""
        return "custom" if self.value.startswith("flux.2") else self.value

    @property
    def family(self) -> str:
        """The key of the family's rules (`catalog.families`) and engine module (`engine.families`)."""
        return _FAMILY[self]


_FAMILY: dict[ModelType, str] = {
    ModelType.SD15: "sd15",
    ModelType.SD15_LORA: "sd15",
    ModelType.SD15_COMPOSITION: "sd15",
    ModelType.SDXL: "sdxl",
    ModelType.SDXL_LORA: "sdxl",
    ModelType.SDXL_COMPOSITION: "sdxl",
    ModelType.FLUX1: "flux1",
    ModelType.FLUX1_KREA: "flux1",
    ModelType.FLUX1_LORA: "flux1",
    ModelType.FLUX1_KREA_LORA: "flux1",
    ModelType.FLUX1_COMPOSITION: "flux1",
    ModelType.FLUX1_KONTEXT: "flux1-kontext",
    ModelType.FLUX1_KONTEXT_LORA: "flux1-kontext",
    ModelType.FLUX2: "flux2",
    ModelType.FLUX2_LORA: "flux2",
    ModelType.FLUX2_DEV: "flux2-dev",
    ModelType.FLUX2_DEV_LORA: "flux2-dev",
}


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


class ConceptSpec(BaseModel):
    """One LoRA of a composition: a LoRA model id with its scale (and epoch)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    model_id: str
    scale: float = 1.0
    model_epoch: str | None = None


class ModelSpec(BaseModel):
    """A registered model."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)
    name: str
    type: ModelType
    # The weights; a composition has none, and a LoRA with `epochs` may leave it out (its last epoch runs).
    source: ModelSource | None = None
    inpaint_source: ModelSource | None = None
    default_scheduler: str | None = None
    ip_adapters: dict[IpAdapterType, IpAdapterSet] = Field(default_factory=dict)
    # A LoRA: the bases it runs on (the first registered one by default); a composition: its base.
    compliant_model_ids: tuple[str, ...] = ()
    # FLUX.1: "schnell" (timestep-distilled: few steps, no guidance) or "dev"; FLUX.2 [klein]: "distilled"
    # (step-distilled; FLUX.2 [dev] is a type of its own, flux.2-dev). Left out, a local folder's config decides
    # (guidance_embeds false: schnell; is_distilled: distilled).
    variant: Literal["dev", "schnell", "distilled"] | None = None
    # A LoRA trained in several epochs: epoch name (e.g. "000003") -> weights (local path or hub ref). The last
    # epoch in name order runs unless modelEpoch picks another.
    epochs: dict[str, str] = Field(default_factory=dict)
    # A composition: the LoRAs (with scales, and epochs) it always runs with.
    concepts: tuple[ConceptSpec, ...] = ()
    description: str = ""
    # The image side the model was trained at, for requests without width/height (default: the family's).
    default_size: int | None = Field(default=None, ge=64, le=2048, multiple_of=8)

    @model_validator(mode="after")
    def _parts_fit_the_type(self) -> ModelSpec:
        if self.type.is_composition:
            if not self.compliant_model_ids:
                raise ValueError("a composition names its base model in compliant_model_ids")
        elif self.source is None and not (self.type.is_lora and self.epochs):
            raise ValueError("source is required (a LoRA may give epochs instead)")
        if self.concepts and not self.type.is_composition:
            raise ValueError("concepts belong to composition models")
        if self.epochs and not self.type.is_lora:
            raise ValueError("epochs belong to LoRA models")
        return self

    @property
    def epoch_names(self) -> tuple[str, ...]:
        """The training epochs a LoRA holds, oldest first; empty for models without epochs."""
        return tuple(sorted(self.epochs))

    @property
    def capabilities(self) -> tuple[str, ...]:
        """The modes this model can run, as Scenario capability names."""
        from diffuserve.catalog.families import FAMILIES

        rules = FAMILIES[self.type.family]
        modes = [Mode.TXT2IMG, Mode.IMG2IMG, Mode.INPAINT]
        # FLUX.2 takes reference images itself; the other families through a registered IP-Adapter.
        if not self.type.runs_on_base and (self.ip_adapters or rules.max_references):
            modes += [Mode.TXT2IMG_IP_ADAPTER, Mode.IMG2IMG_IP_ADAPTER, Mode.INPAINT_IP_ADAPTER]
        return tuple(m.capability for m in modes if m in rules.modes)


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
