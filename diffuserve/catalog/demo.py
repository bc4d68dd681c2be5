"""The demo models' registry entries and on-disk layout, without torch: registering a built tree needs no torch.

`diffuserve.engine.tiny` builds the tree (with torch); this module only names what it holds and checks its marker.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffuserve.catalog.demo_flux import FLUX_DEMO_MODEL_IDS, FLUX_ENTRIES, flux_demo_specs
from diffuserve.catalog.registry import IpAdapterSet, ModelSource, ModelSpec, ModelType
from diffuserve.catalog.types import IpAdapterType

DEMO_MODEL_IDS: tuple[str, ...] = (
    "tiny-sd15",
    "tiny-sd15-file",
    "tiny-sdxl",
    "tiny-sd15-lora",
    "tiny-sdxl-lora",
    *FLUX_DEMO_MODEL_IDS,
)
FORMAT_VERSION = 3  # bump whenever what is built changes, so existing trees are rebuilt
MARKER = "tiny-models.json"
ENTRIES: tuple[str, ...] = (
    "tiny-sd15",
    "tiny-sd15-inpaint",
    "tiny-sd15-file.safetensors",
    "tiny-sdxl",
    "tiny-ip-adapter",
    "tiny-sd15-lora",
    "tiny-sdxl-lora",
    *FLUX_ENTRIES,
)
LORA_WEIGHT_NAME = "pytorch_lora_weights.safetensors"  # the diffusers LoRA file name


def is_built(root: Path) -> bool:
    """Whether `root` holds a complete tree of this format version (the marker is written last)."""
    try:
        marker = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return bool(
        isinstance(marker, dict)
        and marker.get("format_version") == FORMAT_VERSION
        and all((root / e).exists() for e in ENTRIES)
    )


def demo_specs(root: Path) -> list[ModelSpec]:
    """The registry entries of the demo models under `root` (absolute paths; does not build)."""
    root = root.resolve()
    ip = root / "tiny-ip-adapter"
    vit_h = str(ip / "models" / "image_encoder")  # the *_vit-h SDXL adapters use the SD 1.5 (ViT-H) encoder
    sd15_ip = {
        IpAdapterType.STYLE: IpAdapterSet(
            weights=str(ip / "models" / "ip-adapter_sd15.safetensors"), image_encoder=vit_h
        ),
        IpAdapterType.CHARACTER: IpAdapterSet(
            weights=str(ip / "models" / "ip-adapter-plus-face_sd15.safetensors"), image_encoder=vit_h
        ),
    }
    sdxl_ip = {
        IpAdapterType.STYLE: IpAdapterSet(
            weights=str(ip / "sdxl_models" / "ip-adapter-plus_sdxl_vit-h.safetensors"),
            image_encoder=vit_h,
            scale_mode="instantstyle",
        ),
        IpAdapterType.CHARACTER: IpAdapterSet(
            weights=str(ip / "sdxl_models" / "ip-adapter-plus-face_sdxl_vit-h.safetensors"),
            image_encoder=vit_h,
        ),
    }
    sd15_folder = str(root / "tiny-sd15")
    inpaint = ModelSource(kind="folder", path=str(root / "tiny-sd15-inpaint"))
    note = "Random weights from fixed seeds: real architecture, meaningless images. For tests and the demo."
    return [
        ModelSpec(
            id="tiny-sd15",
            name="Tiny SD 1.5 (demo, random weights)",
            type=ModelType.SD15,
            source=ModelSource(kind="folder", path=sd15_folder),
            inpaint_source=inpaint,
            ip_adapters=sd15_ip,
            description=note,
        ),
        ModelSpec(
            id="tiny-sd15-file",
            name="Tiny SD 1.5 single file (demo, random weights)",
            type=ModelType.SD15,
            source=ModelSource(kind="single_file", path=str(root / "tiny-sd15-file.safetensors"), config=sd15_folder),
            inpaint_source=inpaint,
            ip_adapters=sd15_ip,
            description=note + " Same weights as tiny-sd15, in the original (LDM) single-file format.",
        ),
        ModelSpec(
            id="tiny-sdxl",
            name="Tiny SDXL (demo, random weights)",
            type=ModelType.SDXL,
            source=ModelSource(kind="folder", path=str(root / "tiny-sdxl")),
            ip_adapters=sdxl_ip,
            description=note,
        ),
        ModelSpec(
            id="tiny-sd15-lora",
            name="Tiny SD 1.5 LoRA (demo, random weights)",
            type=ModelType.SD15_LORA,
            source=ModelSource(kind="single_file", path=str(root / "tiny-sd15-lora" / LORA_WEIGHT_NAME)),
            compliant_model_ids=("tiny-sd15", "tiny-sd15-file"),
            description=note,
        ),
        ModelSpec(
            id="tiny-sdxl-lora",
            name="Tiny SDXL LoRA (demo, random weights)",
            type=ModelType.SDXL_LORA,
            source=ModelSource(kind="single_file", path=str(root / "tiny-sdxl-lora" / LORA_WEIGHT_NAME)),
            compliant_model_ids=("tiny-sdxl",),
            description=note,
        ),
        *flux_demo_specs(root),
    ]
