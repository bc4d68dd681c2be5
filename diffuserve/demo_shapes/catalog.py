"""The shipped demo-shapes weights: their layout under the package and their registry entries (no torch)."""

from __future__ import annotations

from pathlib import Path

from diffuserve.catalog.registry import IpAdapterSet, ModelSource, ModelSpec, ModelType
from diffuserve.catalog.types import IpAdapterType

WEIGHTS = Path(__file__).parent / "weights"
FOLDER = "demo-shapes"  # diffusers folder
INPAINT_FOLDER = "demo-shapes-inpaint"  # diffusers folder, 9-channel UNet
SINGLE_FILE = "demo-shapes.safetensors"  # SD 1.x original (LDM) single file, same weights as FOLDER
IP_ENCODER = "ip-adapter/models/image_encoder"  # the h94/IP-Adapter layout
IP_STYLE = "ip-adapter/models/ip-adapter_sd15.safetensors"
IP_CHARACTER = "ip-adapter/models/ip-adapter-plus_sd15.safetensors"
LORA_FILE = "demo-shapes-lora/pytorch_lora_weights.safetensors"
MODEL_IDS: tuple[str, ...] = ("demo-shapes", "demo-shapes-file", "demo-shapes-lora")
SIZE = 64  # the side the model was trained at

DESCRIPTION = (
    "Trained in this project on generated 64x64 scenes of one or two flat shapes (circle, square, triangle, star) "
    "in eight colours on a plain background. Understands prompts like 'a red circle on a blue background' or "
    "'a small yellow star top left'; knows nothing else. Use 64x64."
)


def shipped(root: Path = WEIGHTS) -> bool:
    """Whether the weights are there (a checkout without them registers nothing)."""
    return all((root / p).exists() for p in (FOLDER, INPAINT_FOLDER, SINGLE_FILE, IP_STYLE, IP_CHARACTER, LORA_FILE))


def demo_shapes_specs(root: Path = WEIGHTS) -> list[ModelSpec]:
    root = root.resolve()
    folder = str(root / FOLDER)
    encoder = str(root / IP_ENCODER)
    ip = {
        IpAdapterType.STYLE: IpAdapterSet(weights=str(root / IP_STYLE), image_encoder=encoder),
        IpAdapterType.CHARACTER: IpAdapterSet(weights=str(root / IP_CHARACTER), image_encoder=encoder),
    }
    inpaint = ModelSource(kind="folder", path=str(root / INPAINT_FOLDER))
    return [
        ModelSpec(
            id="demo-shapes",
            name="Demo shapes (SD 1.5 architecture, trained here)",
            type=ModelType.SD15,
            source=ModelSource(kind="folder", path=folder),
            inpaint_source=inpaint,
            ip_adapters=ip,
            description=DESCRIPTION,
            default_size=SIZE,
        ),
        ModelSpec(
            id="demo-shapes-file",
            name="Demo shapes, single file",
            type=ModelType.SD15,
            source=ModelSource(kind="single_file", path=str(root / SINGLE_FILE), config=folder),
            inpaint_source=inpaint,
            ip_adapters=ip,
            description=DESCRIPTION + " Same weights as demo-shapes, in the original (LDM) single-file format.",
            default_size=SIZE,
        ),
        ModelSpec(
            id="demo-shapes-lora",
            name="Demo shapes outline LoRA",
            type=ModelType.SD15_LORA,
            source=ModelSource(kind="single_file", path=str(root / LORA_FILE)),
            compliant_model_ids=("demo-shapes", "demo-shapes-file"),
            description="Draws the shapes as outlines instead of filled. A peft LoRA trained on demo-shapes.",
        ),
    ]
