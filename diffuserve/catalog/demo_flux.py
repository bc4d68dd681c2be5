"""The FLUX demo models' registry entries and files (torch-free); `diffuserve.catalog.demo` lists them with the
others, `diffuserve.engine.tiny.flux` builds them."""

from __future__ import annotations

from pathlib import Path

from diffuserve.catalog.registry import ConceptSpec, IpAdapterSet, ModelSource, ModelSpec, ModelType
from diffuserve.catalog.types import IpAdapterType

FLUX_DEMO_MODEL_IDS: tuple[str, ...] = (
    "tiny-flux",
    "tiny-flux-file",
    "tiny-flux-schnell",
    "tiny-flux-kontext",
    "tiny-flux-lora",
    "tiny-flux-composition",
    "tiny-sd15-composition",
    "tiny-flux2",
    "tiny-flux2-dev",
)
FLUX_ENTRIES: tuple[str, ...] = (
    "tiny-flux",
    "tiny-flux-schnell",
    "tiny-flux-fill",
    "tiny-flux-kontext",
    "tiny-flux-file.safetensors",
    "tiny-flux-ip-adapter",
    "tiny-flux-lora",
    "tiny-flux2",
    "tiny-flux2-dev",
)
FLUX_LORA_EPOCHS = ("000001", "000002", "000003")
NOTE = "Random weights from fixed seeds: real architecture, meaningless images. For tests and the demo."


def flux_demo_specs(root: Path) -> list[ModelSpec]:
    """The FLUX demo entries under `root` (absolute paths), and the SD 1.5 composition."""
    ip = root / "tiny-flux-ip-adapter"
    encoder = str(ip / "image_encoder")  # XLabs' adapters take CLIP ViT-L/14 (openai/clip-vit-large-patch14)
    flux_ip = {
        IpAdapterType.STYLE: IpAdapterSet(weights=str(ip / "ip_adapter.safetensors"), image_encoder=encoder),
        IpAdapterType.CHARACTER: IpAdapterSet(weights=str(ip / "ip_adapter_face.safetensors"), image_encoder=encoder),
    }
    folder = str(root / "tiny-flux")
    fill = ModelSource(kind="folder", path=str(root / "tiny-flux-fill"))
    lora = root / "tiny-flux-lora"
    return [
        ModelSpec(
            id="tiny-flux",
            name="Tiny FLUX.1 dev (demo, random weights)",
            type=ModelType.FLUX1,
            source=ModelSource(kind="folder", path=folder),
            inpaint_source=fill,
            ip_adapters=flux_ip,
            description=NOTE + " Inpaints with its Fill variant; XLabs-layout IP-Adapters.",
        ),
        ModelSpec(
            id="tiny-flux-file",
            name="Tiny FLUX.1 dev single file (demo, random weights)",
            type=ModelType.FLUX1,
            source=ModelSource(kind="single_file", path=str(root / "tiny-flux-file.safetensors"), config=folder),
            description=NOTE + " tiny-flux's transformer as one .safetensors file; the rest from its folder.",
        ),
        ModelSpec(
            id="tiny-flux-schnell",
            name="Tiny FLUX.1 schnell (demo, random weights)",
            type=ModelType.FLUX1,
            source=ModelSource(kind="folder", path=str(root / "tiny-flux-schnell")),
            variant="schnell",
            description=NOTE + " Timestep-distilled: 4 steps, no guidance.",
        ),
        ModelSpec(
            id="tiny-flux-kontext",
            name="Tiny FLUX.1 Kontext dev (demo, random weights)",
            type=ModelType.FLUX1_KONTEXT,
            source=ModelSource(kind="folder", path=str(root / "tiny-flux-kontext")),
            ip_adapters=flux_ip,
            description=NOTE + " Edits an input image from an instruction; tiny-flux's XLabs-layout IP-Adapters.",
        ),
        ModelSpec(
            id="tiny-flux-lora",
            name="Tiny FLUX.1 LoRA, 3 epochs (demo, random weights)",
            type=ModelType.FLUX1_LORA,
            epochs={e: str(lora / f"epoch-{e}.safetensors") for e in FLUX_LORA_EPOCHS},
            compliant_model_ids=("tiny-flux", "tiny-flux-schnell", "tiny-flux-file"),
            description=NOTE,
        ),
        ModelSpec(
            id="tiny-flux-composition",
            name="Tiny FLUX.1 composition (demo, random weights)",
            type=ModelType.FLUX1_COMPOSITION,
            compliant_model_ids=("tiny-flux",),
            concepts=(ConceptSpec(model_id="tiny-flux-lora", scale=0.8, model_epoch="000002"),),
            description=NOTE + " tiny-flux with tiny-flux-lora (epoch 000002) at 0.8.",
        ),
        ModelSpec(
            id="tiny-sd15-composition",
            name="Tiny SD 1.5 composition (demo, random weights)",
            type=ModelType.SD15_COMPOSITION,
            compliant_model_ids=("tiny-sd15",),
            concepts=(ConceptSpec(model_id="tiny-sd15-lora", scale=0.7),),
            description=NOTE + " tiny-sd15 with tiny-sd15-lora at 0.7.",
        ),
        ModelSpec(
            id="tiny-flux2",
            name="Tiny FLUX.2 [klein] (demo, random weights)",
            type=ModelType.FLUX2,
            source=ModelSource(kind="folder", path=str(root / "tiny-flux2")),
            description=NOTE + " Qwen3 text encoder, 32-channel VAE; edits with the input image and up to 3 "
            "ipAdapterImages as references.",
        ),
        ModelSpec(
            id="tiny-flux2-dev",
            name="Tiny FLUX.2 [dev] (demo, random weights)",
            type=ModelType.FLUX2_DEV,
            source=ModelSource(kind="folder", path=str(root / "tiny-flux2-dev")),
            description=NOTE + " Mistral 3 text encoder, distilled guidance, 32-channel VAE; edits with the input "
            "image and the ipAdapterImages as references.",
        ),
    ]
