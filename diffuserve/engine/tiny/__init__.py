"""Tiny demo models of the real architectures (random weights from fixed seeds), saved in the real formats.

They load through exactly the code path a user's real checkpoint takes, so tests and the demo exercise the
engine end to end without downloading anything. Layout under `root`:

    tiny-sd15/  tiny-sd15-inpaint/  tiny-sd15-file.safetensors  tiny-sdxl/
    tiny-ip-adapter/{models,sdxl_models}/...  tiny-sd15-lora/  tiny-sdxl-lora/
    tiny-flux/  tiny-flux-schnell/  tiny-flux-fill/  tiny-flux-kontext/  tiny-flux-file.safetensors
    tiny-flux-ip-adapter/  tiny-flux-lora/  tiny-flux2/  tiny-flux2-dev/  tiny-models.json (marker)

Only building needs torch: the layout, the marker check and the registry entries are in `diffuserve.catalog.demo`.
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

from diffuserve.catalog.demo import DEMO_MODEL_IDS, ENTRIES, FORMAT_VERSION, MARKER, demo_specs, is_built
from diffuserve.catalog.registry import ModelSpec
from diffuserve.engine.tiny.flux import build_flux
from diffuserve.engine.tiny.flux2 import build_flux2, build_flux2_dev
from diffuserve.engine.tiny.flux_adapters import build_flux_ip_adapter, build_flux_lora
from diffuserve.engine.tiny.ip_adapter import build_ip_adapters
from diffuserve.engine.tiny.lora import build_lora
from diffuserve.engine.tiny.sd15 import build_sd15
from diffuserve.engine.tiny.sdxl import build_sdxl
from diffuserve.engine.tiny.single_file import save_sd15_single_file

__all__ = ["DEMO_MODEL_IDS", "FORMAT_VERSION", "MARKER", "build_demo_models", "demo_specs"]

logger = logging.getLogger(__name__)


def _build_all(out: Path) -> None:
    sd15 = build_sd15(out / "tiny-sd15", out / "tiny-sd15-inpaint")
    save_sd15_single_file(sd15.unet, sd15.vae, sd15.text_encoder, out / "tiny-sd15-file.safetensors")
    sdxl = build_sdxl(out / "tiny-sdxl")
    build_ip_adapters(out / "tiny-ip-adapter", sd15.unet, sdxl.unet)
    build_lora(out / "tiny-sd15-lora", sd15.unet, StableDiffusionPipeline, seed=40)
    build_lora(out / "tiny-sdxl-lora", sdxl.unet, StableDiffusionXLPipeline, seed=41)
    flux = build_flux(out)
    build_flux_ip_adapter(out / "tiny-flux-ip-adapter", flux.transformer)
    build_flux_lora(out / "tiny-flux-lora", flux.transformer, seed=63)
    build_flux2(out / "tiny-flux2")
    build_flux2_dev(out / "tiny-flux2-dev")


def build_demo_models(root: Path) -> list[ModelSpec]:
    """Build every demo model under `root` unless already built, and return their registry entries.

    Idempotent: a marker file with a format version is written last, so a tree half-built by a crash (or built
    by an older version) is rebuilt. Builds into a temporary directory, then renames into place, under a lock.
    """
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".tiny-models.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building the same root waits, then finds it built
        if not is_built(root):
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
        for entry in ENTRIES:
            target = root / entry
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            (Path(tmp) / entry).rename(target)
    marker_tmp = root / f"{MARKER}.tmp"
    marker_tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, "entries": list(ENTRIES)}))
    marker_tmp.replace(root / MARKER)
    logger.info("tiny demo models built root=%s seconds=%.1f", root, time.perf_counter() - started)
