"""PNG text metadata of a generated image: AUTOMATIC1111's `parameters` infotext (what A1111's PNG Info, Civitai and
most image browsers read) and diffuserve's own JSON of the resolved parameters (`diffuserve`)."""

from __future__ import annotations

import json
from typing import Any

from PIL import PngImagePlugin

from diffuserve import __version__
from diffuserve.catalog.scheduler_aliases import A1111_NAMES
from diffuserve.catalog.types import ResolvedRequest

INFOTEXT_KEY = "parameters"  # the key A1111 writes and reads
JSON_KEY = "diffuserve"


def _quote(value: object) -> str:
    """A1111's quoting: values holding a comma, colon or newline go in JSON double quotes."""
    text = str(value)
    if any(c in text for c in ",:\n"):
        return json.dumps(text, ensure_ascii=False)
    return text


def _num(value: float) -> str:
    return f"{value:g}"


def infotext(resolved: ResolvedRequest, seed: int) -> str:
    """One image's parameters as A1111 writes them: the prompt (LoRAs as `<lora:ID:SCALE>` tags), a `Negative
    prompt:` line, then `Key: value` pairs."""
    r = resolved.request
    prompt = r.prompt + "".join(f" <lora:{c.model_id}:{_num(c.scale)}>" for c in resolved.concepts)
    lines = [prompt]
    if r.negative_prompt:
        lines.append(f"Negative prompt: {r.negative_prompt}")
    params: dict[str, object] = {
        "Steps": resolved.num_inference_steps,
        "Sampler": A1111_NAMES.get(resolved.scheduler, resolved.scheduler),
        "CFG scale": _num(resolved.guidance),
        "Seed": seed,
        "Size": f"{resolved.width}x{resolved.height}",
        "Model": r.model_id,
    }
    if r.mode.uses_image:
        params["Denoising strength"] = _num(resolved.strength)
    if r.mode.uses_mask:
        params["Mask merged"] = "False" if r.disable_merging else "True"
    if r.mode.uses_ip_adapter:
        params["IP-Adapter"] = r.ip_adapter_type.value
        params["IP-Adapter scales"] = ", ".join(_num(s) for s in resolved.ip_adapter_scales)
    params["Version"] = f"diffuserve {__version__}"
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in params.items()))
    return "\n".join(lines)


def png_text(resolved: ResolvedRequest, seed: int, **extra: Any) -> dict[str, str]:
    """The text chunks of one image: A1111's infotext, the resolved parameters as JSON (plus `extra`), the seed."""
    params = {**resolved.parameters(), **extra, "seed": str(seed)}
    return {INFOTEXT_KEY: infotext(resolved, seed), JSON_KEY: json.dumps(params), "seed": str(seed)}


def png_info(resolved: ResolvedRequest, seed: int, **extra: Any) -> PngImagePlugin.PngInfo:
    """png_text as the `pnginfo` that PIL's PNG writer takes."""
    info = PngImagePlugin.PngInfo()
    for key, value in png_text(resolved, seed, **extra).items():
        info.add_text(key, value)
    return info
