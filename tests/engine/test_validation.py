"""Every invalid request fails before any work, with a message that says what is allowed."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, Mode
from diffuserve.engine.engine import Engine
from diffuserve.errors import InvalidRequest, NotFound

IMG = Image.new("RGB", (64, 64), (10, 200, 30))
MASK = Image.new("L", (64, 64), 255)


def make(mode: Mode = Mode.TXT2IMG, **overrides: Any) -> GenerationRequest:
    fields: dict[str, Any] = {
        "mode": mode,
        "model_id": "tiny-sd15",
        "prompt": "a cat",
        "width": 64,
        "height": 64,
    }
    if mode.uses_image:
        fields["image"] = IMG
    if mode.uses_mask:
        fields["mask"] = MASK
    if mode.uses_ip_adapter:
        fields["ip_adapter_images"] = (IMG,)
    fields.update(overrides)
    return GenerationRequest(**fields)


CASES: list[tuple[str, GenerationRequest, str, str]] = [
    ("empty prompt", make(prompt="  "), "prompt", "prompt must not be empty"),
    ("zero samples", make(num_samples=0), "numSamples", "numSamples must be an integer in [1, 128], got 0"),
    ("too many samples", make(num_samples=129), "numSamples", "in [1, 128], got 129"),
    ("zero steps", make(num_inference_steps=0), "numInferenceSteps", "in [1, 150], got 0"),
    ("too many steps", make(num_inference_steps=151), "numInferenceSteps", "in [1, 150], got 151"),
    ("guidance high", make(guidance=20.5), "guidance", "guidance must be a number in [0, 20], got 20.5"),
    ("guidance negative", make(guidance=-1), "guidance", "in [0, 20]"),
    ("width not multiple", make(width=70), "width", "width must be a multiple of 8 in [64, 1024] for sd-1_5"),
    ("height too big", make(height=1032), "height", "height must be a multiple of 8 in [64, 1024]"),
    ("sdxl too small", make(model_id="tiny-sdxl", width=256, height=512), "width", "[512, 2048] for sd-xl"),
    ("negative seed", make(seed=-1), "seed", "seed must be an integer in [0,"),
    ("unknown scheduler", make(scheduler="Karras"), "scheduler", "scheduler must be one of DDIMScheduler"),
    ("img2img without image", make(Mode.IMG2IMG, image=None), "image", "img2img needs an input image"),
    (
        "strength too low",
        make(Mode.IMG2IMG, strength=0.0),
        "strength",
        "strength must be a number in [0.01, 1]",
    ),
    ("strength too high", make(Mode.IMG2IMG, strength=1.5), "strength", "in [0.01, 1], got 1.5"),
    (
        "strength x steps",
        make(Mode.IMG2IMG, strength=0.02, num_inference_steps=10),
        "strength",
        "numInferenceSteps x strength must be at least 1",
    ),
    ("inpaint without mask", make(Mode.INPAINT, mask=None), "mask", "inpaint needs a mask"),
    (
        "ip without images",
        make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=()),
        "ipAdapterImages",
        "needs at least one IP-Adapter image",
    ),
    (
        "ip too many images",
        make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=(IMG,) * 9),
        "ipAdapterImages",
        "at most 8 images",
    ),
    (
        "ip more scales than images",
        make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_scales=(0.5, 0.5)),
        "ipAdapterScales",
        "ipAdapterScales has 2 values but there are 1 IP-Adapter images",
    ),
    (
        "ip scale out of range",
        make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_scales=(1.5,)),
        "ipAdapterScales[0]",
        "ipAdapterScales[0] must be a number in [0, 1]",
    ),
    (
        "lora scale",
        make(concepts=(Concept("tiny-sd15-lora", 2.5),)),
        "concepts[0].scale",
        "in [-2, 2], got 2.5",
    ),
    ("concept not a lora", make(concepts=(Concept("tiny-sdxl", 1.0),)), "concepts[0].modelId", "not a LoRA"),
    (
        "lora of other family",
        make(concepts=(Concept("tiny-sdxl-lora", 1.0),)),
        "concepts[0].modelId",
        "does not fit model 'tiny-sd15'",
    ),
    (
        "lora twice",
        make(concepts=(Concept("tiny-sd15-lora", 1.0), Concept("tiny-sd15-lora", 0.5))),
        "concepts[1]",
        "given twice",
    ),
]


@pytest.mark.parametrize("name,req,field,message", CASES, ids=[c[0] for c in CASES])
def test_invalid_request_is_refused_with_its_message(
    engine: Engine, name: str, req: GenerationRequest, field: str, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        engine.validate(req)
    assert caught.value.field == field
    assert message in caught.value.message


def test_unknown_model_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="model 'nope' does not exist"):
        engine.validate(make(model_id="nope"))


def test_unknown_concept_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="model 'ghost-lora' does not exist"):
        engine.validate(make(concepts=(Concept("ghost-lora", 1.0),)))


def test_scales_broadcast_one_value_and_pad_missing_ones_with_point_nine(engine: Engine) -> None:
    three = (IMG, IMG, IMG)
    one = engine.validate(make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=three, ip_adapter_scales=(0.3,)))
    two = engine.validate(make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=three, ip_adapter_scales=(0.3, 0.4)))
    none = engine.validate(make(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=three))
    assert one.ip_adapter_scales == (0.3, 0.3, 0.3)
    assert two.ip_adapter_scales == (0.3, 0.4, 0.9)
    assert none.ip_adapter_scales == (0.9, 0.9, 0.9)


def test_defaults_follow_the_model_family(engine: Engine) -> None:
    sd15 = engine.validate(GenerationRequest(Mode.TXT2IMG, "tiny-sd15", "a cat"))
    sdxl = engine.validate(GenerationRequest(Mode.TXT2IMG, "tiny-sdxl", "a cat"))
    assert (sd15.guidance, sd15.width, sd15.height, sd15.num_inference_steps) == (7.5, 512, 512, 30)
    assert (sdxl.guidance, sdxl.width, sdxl.height) == (6.0, 1024, 1024)
    assert sd15.scheduler == "PNDMScheduler" and sdxl.scheduler == "EulerDiscreteScheduler"
    img2img = engine.validate(make(Mode.IMG2IMG, width=None, height=None, image=Image.new("RGB", (203, 77))))
    assert (img2img.width, img2img.height, img2img.strength) == (200, 72, 0.75)


def test_a_model_without_the_mode_in_its_capabilities_is_refused(engine: Engine, registry: Registry) -> None:
    bare = registry.get("tiny-sd15").model_copy(update={"id": "tiny-sd15-bare", "ip_adapters": {}})
    registry.add(bare, replace=True)
    try:
        with pytest.raises(InvalidRequest, match="cannot run txt2img_ip_adapter; its capabilities are") as caught:
            engine.validate(make(Mode.TXT2IMG_IP_ADAPTER, model_id="tiny-sd15-bare"))
        assert caught.value.field == "modelId"
        with pytest.raises(InvalidRequest, match="has no 'character' IP-Adapter"):
            only_style = bare.model_copy(
                update={
                    "id": "tiny-sd15-style",
                    "ip_adapters": {IpAdapterType.STYLE: registry.get("tiny-sd15").ip_adapters[IpAdapterType.STYLE]},
                }
            )
            registry.add(only_style, replace=True)
            engine.validate(
                make(
                    Mode.TXT2IMG_IP_ADAPTER,
                    model_id="tiny-sd15-style",
                    ip_adapter_type=IpAdapterType.CHARACTER,
                )
            )
    finally:
        registry.remove("tiny-sd15-bare")
        if any(m.id == "tiny-sd15-style" for m in registry.list()):
            registry.remove("tiny-sd15-style")


def test_a_lora_model_id_offers_only_its_own_capabilities(engine: Engine) -> None:
    with pytest.raises(InvalidRequest, match="model 'tiny-sd15-lora' cannot run txt2img_ip_adapter") as caught:
        engine.validate(make(Mode.TXT2IMG_IP_ADAPTER, model_id="tiny-sd15-lora"))
    assert caught.value.reason == "unsupported_capability"
