"""PNG text of generated images: A1111's `parameters` infotext, read back with A1111's own parser, beside the JSON
of the resolved parameters."""

from __future__ import annotations

import json

from PIL import Image

from diffuserve.catalog.infotext import infotext, png_text
from diffuserve.catalog.scheduler_aliases import A1111_NAMES
from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, Mode, ResolvedRequest
from tests.a1111 import parse_generation_parameters


def resolved(**request: object) -> ResolvedRequest:
    base: dict[str, object] = {"mode": Mode.TXT2IMG, "model_id": "tiny-sd15", "prompt": "a lighthouse at dusk"}
    r = GenerationRequest(**{**base, **request})  # type: ignore[arg-type]
    return ResolvedRequest(
        request=r,
        model_type="sd-1_5",
        num_inference_steps=25,
        guidance=7.5,
        width=512,
        height=768,
        seed=42,
        scheduler="EulerAncestralDiscreteScheduler",
        strength=0.6,
        ip_adapter_scales=(0.8, 0.4) if r.mode.uses_ip_adapter else (),
        concepts=r.concepts,
    )


def test_txt2img_reads_back_in_a1111_with_prompt_negative_prompt_and_parameters() -> None:
    text = infotext(resolved(negative_prompt="blurry, low quality"), seed=43)
    parsed = parse_generation_parameters(text)
    assert parsed["Prompt"] == "a lighthouse at dusk"
    assert parsed["Negative prompt"] == "blurry, low quality"
    assert parsed["Steps"] == "25" and parsed["Sampler"] == "Euler a" and parsed["CFG scale"] == "7.5"
    assert parsed["Seed"] == "43" and (parsed["Size-1"], parsed["Size-2"]) == ("512", "768")
    assert parsed["Model"] == "tiny-sd15" and "Denoising strength" not in parsed


def test_img2img_with_loras_and_ip_adapter_keeps_every_value_parseable() -> None:
    r = resolved(
        mode=Mode.IMG2IMG_IP_ADAPTER,
        prompt="a fox, in the snow: winter",
        concepts=(Concept("tiny-sd15-lora", 0.7), Concept("other", 1.0)),
        ip_adapter_type=IpAdapterType.CHARACTER,
    )
    parsed = parse_generation_parameters(infotext(r, seed=42))
    assert parsed["Prompt"] == "a fox, in the snow: winter <lora:tiny-sd15-lora:0.7> <lora:other:1>"
    assert parsed["Negative prompt"] == ""
    assert parsed["Denoising strength"] == "0.6"
    assert parsed["IP-Adapter"] == "character" and parsed["IP-Adapter scales"] == "0.8, 0.4"
    assert parsed["Version"].startswith("diffuserve ")


def test_png_text_holds_the_infotext_the_json_and_the_seed_and_survives_a_png_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    from diffuserve.catalog.infotext import png_info

    path = Path(str(tmp_path)) / "x.png"
    r = resolved(prompt="ünïcode prompt")
    Image.new("RGB", (8, 8)).save(path, pnginfo=png_info(r, 44, modelId="tiny-sd15-lora"))
    with Image.open(path) as png:
        text = dict(png.text)  # type: ignore[attr-defined]
    assert text == png_text(r, 44, modelId="tiny-sd15-lora")
    assert parse_generation_parameters(text["parameters"])["Prompt"] == "ünïcode prompt"
    params = json.loads(text["diffuserve"])
    assert params["seed"] == "44" and params["modelId"] == "tiny-sd15-lora" and params["numInferenceSteps"] == 25
    assert text["seed"] == "44"


def test_every_api_scheduler_has_an_a1111_sampler_name() -> None:
    assert set(A1111_NAMES) == set(SCHEDULER_NAMES)
