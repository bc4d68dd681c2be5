"""Tiny demo models of the real architectures (random weights from fixed seeds), saved in the real formats.

They load through exactly the code path a user's real checkpoint takes, so tests and the demo exercise the
engine end to end without downloading anything. Layout under `root`:

    tiny-sd15/  tiny-sd15-inpaint/  tiny-sd15-file.safetensors  tiny-sdxl/
    tiny-ip-adapter/{models,sdxl_models}/...  tiny-sd15-lora/  tiny-sdxl-lora/  tiny-models.json (marker)
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

from diffuserve.catalog.registry import IpAdapterSet, ModelSource, ModelSpec, ModelType
from diffuserve.catalog.types import IpAdapterType
from diffuserve.engine.tiny.ip_adapter import build_ip_adapters
from diffuserve.engine.tiny.lora import WEIGHT_NAME, build_lora
from diffuserve.engine.tiny.sd15 import build_sd15
from diffuserve.engine.tiny.sdxl import build_sdxl
from diffuserve.engine.tiny.single_file import save_sd15_single_file

__all__ = ["DEMO_MODEL_IDS", "FORMAT_VERSION", "build_demo_models", "demo_specs"]

logger = logging.getLogger(__name__)

DEMO_MODEL_IDS: tuple[str, ...] = (
    "tiny-sd15",
    "tiny-sd15-file",
    "tiny-sdxl",
    "tiny-sd15-lora",
    "tiny-sdxl-lora",
)
FORMAT_VERSION = 1  # bump whenever what is built changes, so existing trees are rebuilt
MARKER = "tiny-models.json"
_ENTRIES = (
    "tiny-sd15",
    "tiny-sd15-inpaint",
    "tiny-sd15-file.safetensors",
    "tiny-sdxl",
    "tiny-ip-adapter",
    "tiny-sd15-lora",
    "tiny-sdxl-lora",
)


def _build_all(out: Path) -> None:
    sd15 = build_sd15(out / "tiny-sd15", out / "tiny-sd15-inpaint")
    save_sd15_single_file(sd15.unet, sd15.vae, sd15.text_encoder, out / "tiny-sd15-file.safetensors")
    sdxl = build_sdxl(out / "tiny-sdxl")
    build_ip_adapters(out / "tiny-ip-adapter", sd15.unet, sdxl.unet)
    build_lora(out / "tiny-sd15-lora", sd15.unet, StableDiffusionPipeline, seed=40)
    build_lora(out / "tiny-sdxl-lora", sdxl.unet, StableDiffusionXLPipeline, seed=41)


def _is_built(root: Path) -> bool:
    try:
        marker = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return bool(marker.get("format_version") == FORMAT_VERSION and all((root / e).exists() for e in _ENTRIES))


def build_demo_models(root: Path) -> list[ModelSpec]:
    """Build every demo model under `root` unless already built, and return their registry entries.

    Idempotent: a marker file with a format version is written last, so a tree half-built by a crash (or built
    by an older version) is rebuilt. Builds into a temporary directory, then renames into place, under a lock.
    """
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".tiny-models.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building the same root waits, then finds it built
        if not _is_built(root):
            _build(root)
    return demo_specs(root)


def _build(root: Path) -> None:
    started = time.perf_counter()
    (root / MARKER).unlink(missing_ok=True)
    for stale in root.glob(".tiny-build-*"):  # left by a killed build; we hold the lock, so nobody uses them
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".tiny-build-") as tmp:
        with torch.random.fork_rng(devices=[]):  # the builders seed torch; leave the caller's RNG as it was
            _build_all(Path(tmp))
        for entry in _ENTRIES:
            target = root / entry
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            (Path(tmp) / entry).rename(target)
    marker_tmp = root / f"{MARKER}.tmp"
    marker_tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, "entries": list(_ENTRIES)}))
    marker_tmp.replace(root / MARKER)
    logger.info("tiny demo models built root=%s seconds=%.1f", root, time.perf_counter() - started)


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
            source=ModelSource(kind="single_file", path=str(root / "tiny-sd15-lora" / WEIGHT_NAME)),
            compliant_model_ids=("tiny-sd15", "tiny-sd15-file"),
            description=note,
        ),
        ModelSpec(
            id="tiny-sdxl-lora",
            name="Tiny SDXL LoRA (demo, random weights)",
            type=ModelType.SDXL_LORA,
            source=ModelSource(kind="single_file", path=str(root / "tiny-sdxl-lora" / WEIGHT_NAME)),
            compliant_model_ids=("tiny-sdxl",),
            description=note,
        ),
    ]
