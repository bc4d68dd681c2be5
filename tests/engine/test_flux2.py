"""FLUX.2 through the real engine and diffusers pipelines: [dev] on Flux2Pipeline (distilled guidance, no negative
prompt), multi-reference editing on [klein] and [dev] (the input image, then the IP-Adapter images, in order, with
the family's limit), batching, and the XLabs IP-Adapter on FLUX.1 Kontext."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from diffuserve.catalog.batching import batch_key
from diffuserve.catalog.registry import ModelSource, ModelSpec, ModelType, Registry
from diffuserve.catalog.types import Callbacks, GenerationRequest, Mode
from diffuserve.engine.engine import Engine
from diffuserve.errors import ModelLoadError
from tests.engine.helpers import max_diff, mean_diff, picture, png_bytes
from tests.engine.test_flux import SIZE, image, refused, request

DEV = "tiny-flux2-dev"
KLEIN = "tiny-flux2"
REFS = (picture(48, seed=3), picture(96, seed=4))  # other sizes than the output: fitted to its pixel count


def batched_equals_alone(engine: Engine, requests: list[GenerationRequest]) -> None:
    for req, got in zip(requests, engine.generate_batch([(r, Callbacks()) for r in requests]), strict=True):
        assert not isinstance(got, BaseException), got
        for i, generated in enumerate(got.images):
            alone = engine.generate(request(req.mode, model=req.model_id, **_alone(req, i)))
            assert max_diff(generated.image, alone.images[0].image) <= 1


def _alone(req: GenerationRequest, index: int) -> dict[str, object]:
    """Image `index` of `req` asked for on its own: the same fields, one sample, seed + index."""
    assert req.seed is not None
    fields = {"prompt": req.prompt, "seed": req.seed + index, "ip_adapter_images": req.ip_adapter_images}
    return fields | ({"image": req.image} if req.image is not None else {})


def test_dev_generates_with_distilled_guidance(engine: Engine) -> None:
    result = engine.generate(request(model=DEV, num_samples=2))
    assert [im.image.size for im in result.images] == [(SIZE, SIZE)] * 2
    assert [im.seed for im in result.images] == [42, 43]
    resolved = result.resolved
    assert (resolved.guidance, resolved.num_inference_steps, resolved.model_type) == (4.0, 2, "flux.2-dev")
    alone = image(engine, request(model=DEV))
    assert png_bytes(alone) == png_bytes(image(engine, request(model=DEV)))  # a seed reproduces its image
    assert max_diff(result.images[0].image, alone) <= 1  # image 0 of 2 is the image alone (batch rounding)
    # Guidance is an input of the transformer: one pass per step, and it changes the image.
    assert mean_diff(image(engine, request(model=DEV, guidance=1.0)), image(engine, request(model=DEV))) > 0.1
    defaults = engine.validate(GenerationRequest(Mode.TXT2IMG, DEV, "a fox"))
    assert (defaults.guidance, defaults.num_inference_steps, defaults.width) == (4.0, 50, 1024)


def test_dev_batched_equals_alone(engine: Engine) -> None:
    requests = [
        request(model=DEV, num_samples=2, seed=5),
        request(model=DEV, prompt="a lighthouse at dusk", seed=9),
    ]
    batched_equals_alone(engine, requests)
    edits = [request(Mode.IMG2IMG, model=DEV, seed=s, image=picture(SIZE, seed=s)) for s in (1, 2)]
    batched_equals_alone(engine, edits)


def test_dev_has_no_negative_prompt(engine: Engine) -> None:
    err = refused(engine, request(model=DEV, negative_prompt="blurry"))
    assert err.field == "negativePrompt" and err.reason == "negative_prompt_unsupported"
    assert "flux.2-dev models take no negativePrompt" in err.message
    # negativePromptStrength is only range-checked: FLUX.2 has no true CFG.
    assert engine.validate(request(model=DEV, negative_prompt_strength=3.0)).negative_prompt_strength == 0.0
    assert refused(engine, request(Mode.INPAINT, model=DEV)).reason == "unsupported_capability"


@pytest.mark.parametrize("model", [KLEIN, DEV])
def test_references_follow_the_input_image_in_order(engine: Engine, model: str) -> None:
    edit = image(engine, request(Mode.IMG2IMG, model=model))
    one = image(engine, request(Mode.IMG2IMG_IP_ADAPTER, model=model, ip_adapter_images=REFS[:1]))
    two = image(engine, request(Mode.IMG2IMG_IP_ADAPTER, model=model, ip_adapter_images=REFS))
    swapped = image(engine, request(Mode.IMG2IMG_IP_ADAPTER, model=model, ip_adapter_images=REFS[::-1]))
    # Random weights: small effects, but never none.
    assert mean_diff(edit, one) > 0.01 and mean_diff(one, two) > 0.01
    assert png_bytes(two) != png_bytes(swapped)  # the order is the references' positions
    assert png_bytes(two) == png_bytes(
        image(engine, request(Mode.IMG2IMG_IP_ADAPTER, model=model, ip_adapter_images=REFS))
    )
    refs_only = image(engine, request(Mode.TXT2IMG_IP_ADAPTER, model=model, ip_adapter_images=REFS))
    assert mean_diff(refs_only, image(engine, request(model=model))) > 0.01


def test_references_batch_alone_and_by_count(engine: Engine) -> None:
    mode = Mode.IMG2IMG_IP_ADAPTER
    requests = [
        request(mode, model=KLEIN, seed=1, ip_adapter_images=REFS[:1]),
        request(mode, model=KLEIN, seed=2, image=picture(SIZE, seed=5), ip_adapter_images=(picture(64, seed=6),)),
    ]
    assert batch_key(engine.validate(requests[0])) == batch_key(engine.validate(requests[1]))
    batched_equals_alone(engine, requests)
    two = engine.validate(request(mode, model=KLEIN, ip_adapter_images=REFS))
    assert batch_key(two) != batch_key(engine.validate(requests[0]))
    txt = [request(Mode.TXT2IMG_IP_ADAPTER, model=DEV, seed=s, ip_adapter_images=REFS[s - 1 :]) for s in (1, 2)]
    batched_equals_alone(engine, [txt[0]])
    batched_equals_alone(engine, [txt[1], request(Mode.TXT2IMG_IP_ADAPTER, model=DEV, seed=7, ip_adapter_images=REFS)])


@pytest.mark.parametrize(
    ("model", "mode", "count", "message"),
    [
        (KLEIN, Mode.IMG2IMG_IP_ADAPTER, 4, "FLUX.2 [klein] takes at most 4 reference images (the input image and"),
        (KLEIN, Mode.TXT2IMG_IP_ADAPTER, 5, "at most 4 reference images"),
    ],
)
def test_too_many_references_are_refused(engine: Engine, model: str, mode: Mode, count: int, message: str) -> None:
    refs = tuple(picture(32, seed=s) for s in range(count))
    err = refused(engine, request(mode, model=model, ip_adapter_images=refs))
    assert err.field == "ipAdapterImages" and err.reason == "too_many_references" and message in err.message
    assert engine.validate(request(mode, model=model, ip_adapter_images=refs[:3]))  # 3 (+ the image): allowed


def test_references_take_no_scale(engine: Engine) -> None:
    resolved = engine.validate(request(Mode.TXT2IMG_IP_ADAPTER, model=DEV, ip_adapter_images=REFS))
    assert resolved.ip_adapter_scales == (1.0, 1.0)
    ones = engine.validate(request(Mode.TXT2IMG_IP_ADAPTER, model=DEV, ip_adapter_images=REFS, ip_adapter_scales=(1,)))
    assert ones.ip_adapter_scales == (1.0, 1.0)
    err = refused(
        engine, request(Mode.TXT2IMG_IP_ADAPTER, model=KLEIN, ip_adapter_images=REFS, ip_adapter_scales=(1.0, 0.5))
    )
    assert err.field == "ipAdapterScales[1]" and err.reason == "reference_scale_unsupported"


def test_kontext_takes_the_xlabs_ip_adapter(engine: Engine) -> None:
    mode = Mode.IMG2IMG_IP_ADAPTER
    strong = image(engine, request(mode, model="tiny-flux-kontext", ip_adapter_scales=(1.0,)))
    off = image(engine, request(mode, model="tiny-flux-kontext", ip_adapter_scales=(0.0,)))
    assert mean_diff(strong, off) > 0.5
    assert max_diff(off, image(engine, request(Mode.IMG2IMG, model="tiny-flux-kontext"))) <= 1  # 0: no adapter


def test_a_processor_that_needs_a_missing_package_is_a_load_error(
    engine: Engine, registry: Registry, tmp_path: Path
) -> None:
    """The real FLUX.2 [dev] tokenizer is a PixtralProcessor, which transformers builds only with torchvision."""
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed: PixtralProcessor can be built")
    source = registry.get(DEV).source
    assert source is not None
    folder = shutil.copytree(source.path, tmp_path / "dev")
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps(index | {"tokenizer": ["transformers", "PixtralProcessor"]}))
    spec = ModelSpec(
        id="test-flux2-dev-pixtral",
        name="x",
        type=ModelType.FLUX2_DEV,
        source=ModelSource(kind="folder", path=str(folder)),
    )
    registry.add(spec, replace=True)
    try:
        with pytest.raises(ModelLoadError) as err:
            engine.generate(request(model=spec.id))
        assert "test-flux2-dev-pixtral" in err.value.message
        assert "(PixtralProcessor needs torchvision, which is not installed)" in err.value.message
    finally:
        registry.remove(spec.id)
