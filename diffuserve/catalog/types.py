"""Request and result types of the engine: frozen dataclasses, no torch in their fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image


class Mode(StrEnum):
    """A generation mode; the value is the Scenario path segment (`/generate/<value>`)."""

    TXT2IMG = "txt2img"
    TXT2IMG_IP_ADAPTER = "txt2img-ip-adapter"
    IMG2IMG = "img2img"
    IMG2IMG_IP_ADAPTER = "img2img-ip-adapter"
    INPAINT = "inpaint"
    INPAINT_IP_ADAPTER = "inpaint-ip-adapter"

    @property
    def capability(self) -> str:
        """The model capability / inference type name (`img2img_ip_adapter`)."""
        return self.value.replace("-", "_")

    @property
    def uses_image(self) -> bool:
        return self.value.startswith(("img2img", "inpaint"))

    @property
    def uses_mask(self) -> bool:
        return self.value.startswith("inpaint")

    @property
    def uses_ip_adapter(self) -> bool:
        return self.value.endswith("ip-adapter")

    @property
    def base(self) -> Mode:
        """The mode without IP-Adapter guidance."""
        return Mode(self.value.removesuffix("-ip-adapter"))


class IpAdapterType(StrEnum):
    """Which of the model's IP-Adapter sets guides the image."""

    STYLE = "style"
    CHARACTER = "character"


@dataclass(frozen=True)
class Concept:
    """A LoRA model applied with a scale in [-2, 2]."""

    model_id: str
    scale: float
    model_epoch: str | None = None


@dataclass(frozen=True)
class IpAdapterUse:
    """One of the model's IP-Adapter sets guiding a request, with its reference images and a scale per image
    (one scale applies to all; missing ones are the default)."""

    type: IpAdapterType
    images: tuple[Image.Image, ...]
    scales: tuple[float, ...] = ()


@dataclass(frozen=True)
class ResolvedIpAdapter:
    """An IP-Adapter use after validation: its set and exactly one scale per reference image."""

    type: IpAdapterType
    scales: tuple[float, ...]


@dataclass(frozen=True)
class GenerationRequest:
    """One generation, as the engine sees it. `None` means "the model's default"."""

    mode: Mode
    model_id: str
    prompt: str
    negative_prompt: str | None = None
    num_samples: int = 1
    num_inference_steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    scheduler: str | None = None
    strength: float | None = None
    image: Image.Image | None = None
    mask: Image.Image | None = None
    disable_merging: bool = False
    ip_adapter_images: tuple[Image.Image, ...] = ()
    ip_adapter_scales: tuple[float, ...] = ()
    ip_adapter_type: IpAdapterType = IpAdapterType.STYLE
    # Several IP-Adapter sets at once (e.g. a face for `character` and style images for `style`); instead of the
    # three single-set fields above, not together with them.
    ip_adapters: tuple[IpAdapterUse, ...] = ()
    concepts: tuple[Concept, ...] = ()
    intermediate_images: bool = False
    # A LoRA model id runs on this one of its compliant bases (default: its first registered one).
    base_model_id: str | None = None
    # A training epoch of a LoRA model id (default: its last).
    model_epoch: str | None = None
    # FLUX: the weight of the negative prompt in true classifier-free guidance (0: off).
    negative_prompt_strength: float | None = None

    def ip_adapter_uses(self) -> tuple[IpAdapterUse, ...]:
        """The IP-Adapter sets and images this request asks for, whichever fields carry them."""
        if self.ip_adapters:
            return self.ip_adapters
        if self.ip_adapter_images:
            return (IpAdapterUse(self.ip_adapter_type, self.ip_adapter_images, self.ip_adapter_scales),)
        return ()


@dataclass(frozen=True)
class ResolvedRequest:
    """A validated request with every default filled in; what actually runs."""

    request: GenerationRequest
    model_type: str
    num_inference_steps: int
    guidance: float
    width: int
    height: int
    seed: int
    scheduler: str
    strength: float
    ip_adapter_scales: tuple[float, ...]
    concepts: tuple[Concept, ...] = field(default=())
    # Every IP-Adapter set in use, in request order; `ip_adapter_scales` is their scales end to end.
    ip_adapters: tuple[ResolvedIpAdapter, ...] = ()
    negative_prompt_strength: float = 0.0

    @property
    def seeds(self) -> tuple[int, ...]:
        """Image i uses seed + i, so an image does not depend on how many were asked for."""
        return tuple(self.seed + i for i in range(self.request.num_samples))

    def parameters(self) -> dict[str, object]:
        """The parameters that made the images, as plain values (for PNG text and job metadata)."""
        r = self.request
        params: dict[str, object] = {
            "mode": r.mode.value,
            "modelId": r.model_id,
            "modelType": self.model_type,
            "prompt": r.prompt,
            "numInferenceSteps": self.num_inference_steps,
            "guidance": self.guidance,
            "width": self.width,
            "height": self.height,
            "scheduler": self.scheduler,
        }
        if r.negative_prompt:
            params["negativePrompt"] = r.negative_prompt
        if self.negative_prompt_strength:
            params["negativePromptStrength"] = self.negative_prompt_strength
        if r.mode.uses_image:
            params["strength"] = self.strength
        if r.mode.uses_mask:
            params["disableMerging"] = r.disable_merging
        if r.mode.uses_ip_adapter and len(self.ip_adapters) == 1:
            params["ipAdapterType"] = self.ip_adapters[0].type.value
            params["ipAdapterScales"] = list(self.ip_adapter_scales)
        elif r.mode.uses_ip_adapter:
            params["ipAdapters"] = [{"type": a.type.value, "scales": list(a.scales)} for a in self.ip_adapters]
        if self.concepts:
            params["concepts"] = [
                {"modelId": c.model_id, "scale": c.scale, **({"modelEpoch": c.model_epoch} if c.model_epoch else {})}
                for c in self.concepts
            ]
        return params


@dataclass(frozen=True)
class GeneratedImage:
    """One output image and the seed that reproduces it."""

    image: Image.Image
    seed: int
    index: int


@dataclass(frozen=True)
class GenerationResult:
    """All images of a request, in order, with the resolved parameters."""

    images: tuple[GeneratedImage, ...]
    resolved: ResolvedRequest


@dataclass(frozen=True)
class Progress:
    """Denoising progress across all batches of a request: `done` of `total` steps."""

    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass
class Callbacks:
    """What the caller hears during a run. Every hook is optional and runs on the generating thread."""

    on_loading: Callable[[], None] | None = None
    on_progress: Callable[[Progress], None] | None = None
    on_preview: Callable[[list[Image.Image]], None] | None = None
    should_cancel: Callable[[], bool] | None = None
