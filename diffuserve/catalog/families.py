"""What each model family allows and defaults to (spec §3.1), without torch: one FamilyRules per family.

The engine's half of a family (what it loads, how it encodes and calls) is `diffuserve.engine.families.<name>`;
both are keyed by `ModelType.family`. Adding a family is one entry here, one engine module, its model types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from diffuserve.catalog.types import Mode

if TYPE_CHECKING:
    from diffuserve.catalog.registry import ModelSpec

# The 15 schedulers of the Scenario API (diffusers class names) work with the UNet families.
SCENARIO_SCHEDULERS: tuple[str, ...] = (
    "DDIMScheduler",
    "DDPMScheduler",
    "DEISMultistepScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "EulerAncestralDiscreteScheduler",
    "EulerDiscreteScheduler",
    "HeunDiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "LCMScheduler",
    "LMSDiscreteScheduler",
    "PNDMScheduler",
    "TCDScheduler",
    "UniPCMultistepScheduler",
)
# Flow-matching transformers (FLUX) take flow-matching schedulers only; none of the 15 is one.
FLOW_SCHEDULERS: tuple[str, ...] = ("FlowMatchEulerDiscreteScheduler",)
ALL_MODES = frozenset(Mode)


@dataclass(frozen=True)
class FamilyRules:
    """Defaults and ranges of one family; `label` names it in messages."""

    name: str
    label: str
    default_guidance: float
    default_size: int
    min_size: int
    max_size: int
    max_guidance: float = 20.0
    size_multiple: int = 8
    default_steps: int = 30
    schedulers: tuple[str, ...] = SCENARIO_SCHEDULERS
    default_scheduler: str = "EulerDiscreteScheduler"
    # negativePromptStrength runs true classifier-free guidance (two transformer passes per step) in these modes;
    # a negative prompt then needs a strength > 0. Empty: the family has plain CFG and ignores the strength.
    true_cfg_modes: frozenset[Mode] = frozenset()
    # guidance is a distilled input of the model (FLUX dev), not classifier-free guidance.
    distilled_guidance: bool = False
    # False: the model takes no guidance at all (timestep-distilled FLUX schnell); guidance is ignored.
    uses_guidance: bool = True
    # Whether strength changes anything in img2img (an instruction-editing model keeps the whole input).
    uses_strength: bool = True
    # False: the pipeline has no negative prompt at all (FLUX.2 [dev]); a negativePrompt is a 400.
    negative_prompt: bool = True
    # > 0: the model conditions on reference images itself (FLUX.2), at most this many per request (the input
    # image and the IP-Adapter images together); 0: references need a registered IP-Adapter.
    max_references: int = 0
    # Creative Units: rate per image at `native`² and 30 steps.
    cost_rate: float = 3.0
    native_size: int = 512
    modes: frozenset[Mode] = field(default=ALL_MODES)
    note: str = ""


_TRUE_CFG = frozenset({Mode.TXT2IMG, Mode.TXT2IMG_IP_ADAPTER, Mode.IMG2IMG, Mode.IMG2IMG_IP_ADAPTER})
_FLUX = {
    "default_guidance": 3.5,
    "max_guidance": 10.0,
    "default_size": 1024,
    "min_size": 128,
    "max_size": 2048,
    "size_multiple": 16,  # 8x VAE, then 2x2 patches
    "default_steps": 28,
    "schedulers": FLOW_SCHEDULERS,
    "default_scheduler": "FlowMatchEulerDiscreteScheduler",
    "true_cfg_modes": _TRUE_CFG,
    "distilled_guidance": True,
    "cost_rate": 8.0,
    "native_size": 1024,
}

_FLUX2_MODES = frozenset({Mode.TXT2IMG, Mode.IMG2IMG, Mode.TXT2IMG_IP_ADAPTER, Mode.IMG2IMG_IP_ADAPTER})
# FLUX.2 has FLUX.1's sizes and schedulers, but neither true CFG nor strength.
_FLUX2 = {k: v for k, v in _FLUX.items() if k not in ("true_cfg_modes", "distilled_guidance")} | {
    "default_guidance": 4.0,
    "default_steps": 50,
    "uses_strength": False,
    "cost_rate": 10.0,
    "modes": _FLUX2_MODES,
}

FAMILIES: dict[str, FamilyRules] = {
    "sd15": FamilyRules(
        "sd15", "SD 1.5", 7.5, 512, 64, 1024, default_scheduler="PNDMScheduler", cost_rate=3.0, native_size=512
    ),
    "sdxl": FamilyRules("sdxl", "SDXL", 6.0, 1024, 512, 2048, cost_rate=5.0, native_size=1024),
    "flux1": FamilyRules("flux1", "FLUX.1", **_FLUX),  # type: ignore[arg-type]
    "flux1-kontext": FamilyRules(
        "flux1-kontext",
        "FLUX.1 Kontext",
        **_FLUX,  # type: ignore[arg-type]
        uses_strength=False,
        note="img2img edits the whole input image following the prompt (strength is not used); without an "
        "image it generates from the prompt alone.",
    ),
    "flux2": FamilyRules(
        "flux2",
        "FLUX.2 [klein]",
        **_FLUX2,  # type: ignore[arg-type]
        max_references=4,  # BFL: klein takes up to 4 reference images
        note="FLUX.2 [klein]: guidance is classifier-free with the negative prompt (ignored by step-distilled "
        "checkpoints). img2img edits the input image (strength is not used); the -ip-adapter modes add the "
        "ipAdapterImages as further references (at most 4 images in all, no scale).",
    ),
    "flux2-dev": FamilyRules(
        "flux2-dev",
        "FLUX.2 [dev]",
        **{**_FLUX2, "cost_rate": 20.0},  # type: ignore[arg-type]  # 32B parameters against klein's 4-9B
        distilled_guidance=True,
        negative_prompt=False,
        max_references=10,  # BFL's flux2 repository: up to 10 (6 recommended)
        note="FLUX.2 [dev]: guidance is distilled into the model (no negative prompt). img2img edits the input "
        "image (strength is not used); the -ip-adapter modes add the ipAdapterImages as further references (at "
        "most 10 images in all, no scale).",
    ),
}

# FLUX.1 schnell: timestep-distilled, so few steps and no guidance at all.
FLUX1_SCHNELL = FamilyRules(
    "flux1",
    "FLUX.1 schnell",
    **{**_FLUX, "default_guidance": 0.0, "default_steps": 4},  # type: ignore[arg-type]
    uses_guidance=False,
    note="schnell is timestep-distilled: 4 steps by default and no guidance (a guidance value is ignored).",
)


# FLUX.2 [klein] step-distilled (model_index.json `is_distilled`): 4 steps, guidance ignored.
FLUX2_DISTILLED = replace(
    FAMILIES["flux2"],
    label="FLUX.2 [klein] distilled",
    default_guidance=0.0,
    default_steps=4,
    uses_guidance=False,
    note="step-distilled: 4 steps by default and no guidance (a guidance value is ignored). img2img edits the "
    "input image; the -ip-adapter modes add the ipAdapterImages as further references (at most 4 in all).",
)


def _local_config(model: ModelSpec, *parts: str) -> dict[str, object]:
    """A JSON file of the model's local diffusers folder (or single file's config folder); {} when absent."""
    if model.source is None:
        return {}
    folder = model.source.path if model.source.kind == "folder" else model.source.config
    path = Path(folder).expanduser().joinpath(*parts) if folder else None
    if path is None or not path.is_file():
        return {}
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def model_variant(model: ModelSpec) -> str | None:
    """`schnell` for a timestep-distilled FLUX.1 (registry `variant`, else its transformer config says
    guidance_embeds false), `distilled` for a step-distilled FLUX.2 [klein]; None for the others."""
    if model.variant is not None:
        return None if model.variant == "dev" else model.variant
    family = model.type.family
    if family == "flux1" and _local_config(model, "transformer", "config.json").get("guidance_embeds") is False:
        return "schnell"
    if family == "flux2" and _local_config(model, "model_index.json").get("is_distilled") is True:
        return "distilled"
    return None


def rules_for(model: ModelSpec) -> FamilyRules:
    """The rules a registered (base) model runs under (its own default size, when it has one)."""
    rules = _family_rules(model)
    return replace(rules, default_size=model.default_size) if model.default_size else rules


def _family_rules(model: ModelSpec) -> FamilyRules:
    family = model.type.family
    variant = model_variant(model) if family in ("flux1", "flux2") else None
    if family == "flux1" and variant == "schnell":
        return FLUX1_SCHNELL
    if family == "flux2" and variant == "distilled":
        return FLUX2_DISTILLED
    return FAMILIES[family]
