"""FLUX.1 through the real engine and diffusers pipelines: every mode, distilled guidance and schnell, true CFG,
flow-matching schedulers, the XLabs IP-Adapter, LoRA epochs, base models, compositions, Fill, Kontext, and the
single-file checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from diffuserve.catalog.registry import ConceptSpec, ModelSource, ModelSpec, ModelType, Registry
from diffuserve.catalog.types import (
    Callbacks,
    Concept,
    GenerationRequest,
    IpAdapterType,
    IpAdapterUse,
    Mode,
    Progress,
)
from diffuserve.engine.engine import Engine
from diffuserve.errors import InvalidRequest
from tests.engine.helpers import center_mask, max_diff, mean_diff, picture, png_bytes

SIZE = 128  # FLUX's smallest size here (8 x 8 latent patches)


def request(mode: Mode = Mode.TXT2IMG, model: str = "tiny-flux", **overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "mode": mode,
        "model_id": model,
        "prompt": "a red fox in the snow",
        "num_inference_steps": 2,
        "width": SIZE,
        "height": SIZE,
        "seed": 42,
    }
    if mode.uses_image:
        fields["image"] = picture(SIZE)
    if mode.uses_mask:
        fields["mask"] = center_mask(SIZE, margin=SIZE // 3)
    if mode.uses_ip_adapter:
        fields["ip_adapter_images"] = (picture(32, seed=7),)
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def image(engine: Engine, req: GenerationRequest) -> Image.Image:
    return engine.generate(req).images[0].image


def refused(engine: Engine, req: GenerationRequest) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as err:
        engine.validate(req)
    return err.value


@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_runs_with_per_image_seeds(engine: Engine, mode: Mode) -> None:
    result = engine.generate(request(mode, num_samples=2))
    assert [im.image.size for im in result.images] == [(SIZE, SIZE)] * 2
    assert [im.seed for im in result.images] == [42, 43]
    assert result.resolved.parameters()["modelType"] == "flux.1"


def test_dev_defaults_and_schnell_defaults(engine: Engine) -> None:
    dev = engine.validate(GenerationRequest(Mode.TXT2IMG, "tiny-flux", "a fox"))
    assert (dev.guidance, dev.num_inference_steps, dev.width, dev.scheduler) == (
        3.5,
        28,
        1024,
        "FlowMatchEulerDiscreteScheduler",
    )
    schnell = engine.validate(GenerationRequest(Mode.TXT2IMG, "tiny-flux-schnell", "a fox", guidance=5.0))
    assert (schnell.guidance, schnell.num_inference_steps) == (0.0, 4)  # no guidance input: ignored
    assert image(engine, request(model="tiny-flux-schnell")).size == (SIZE, SIZE)


def test_distilled_guidance_changes_the_image(engine: Engine) -> None:
    assert mean_diff(image(engine, request(guidance=1.0)), image(engine, request(guidance=8.0))) > 0.5


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"guidance": 10.5}, "guidance", "guidance must be a number in [0, 10], got 10.5"),
        ({"width": 264}, "width", "width must be a multiple of 16 in [128, 2048] for flux.1 models, got 264"),
        (
            {"scheduler": "DDIMScheduler"},
            "scheduler",
            "scheduler 'DDIMScheduler' does not work with flux.1 models (FLUX.1 is a flow-matching model); use one "
            "of FlowMatchEulerDiscreteScheduler",
        ),
        ({"negative_prompt": "blurry"}, "negativePromptStrength", "needs negativePromptStrength > 0"),
        ({"negative_prompt": "blurry", "negative_prompt_strength": 0.0}, "negativePromptStrength", "> 0"),
    ],
)
def test_flux_rules_are_refused_with_their_message(
    engine: Engine, overrides: dict[str, object], field: str, message: str
) -> None:
    err = refused(engine, request(**overrides))
    assert err.field == field and message in err.message


def test_a_negative_prompt_needs_no_strength_on_sd(engine: Engine) -> None:
    req = GenerationRequest(Mode.TXT2IMG, "tiny-sd15", "a fox", negative_prompt="blurry")
    assert engine.validate(req).negative_prompt_strength == 0.0


def test_true_cfg_strength_changes_the_image_and_batches(engine: Engine) -> None:
    plain = image(engine, request())
    pushed = image(engine, request(negative_prompt="snow", negative_prompt_strength=2.0))
    assert mean_diff(plain, pushed) > 0.5
    other_negative = image(engine, request(negative_prompt="a city", negative_prompt_strength=2.0))
    assert mean_diff(pushed, other_negative) > 0.1
    resolved = engine.validate(request(negative_prompt="snow", negative_prompt_strength=2.0))
    assert resolved.parameters()["negativePromptStrength"] == 2.0
    requests = [
        request(negative_prompt="snow", negative_prompt_strength=2.0),
        request(negative_prompt=None, negative_prompt_strength=2.0, prompt="a lighthouse", seed=5),
    ]
    for req, got in zip(requests, engine.generate_batch([(r, Callbacks()) for r in requests]), strict=True):
        assert not isinstance(got, BaseException), got
        assert max_diff(got.images[0].image, image(engine, req)) <= 1


def test_inpaint_ignores_the_strength_but_keeps_the_rule(engine: Engine) -> None:
    resolved = engine.validate(request(Mode.INPAINT, negative_prompt="x", negative_prompt_strength=3.0))
    assert resolved.negative_prompt_strength == 0.0  # true CFG runs in txt2img and img2img only (spec §3.1)


def test_ip_adapter_scale_matters_and_batches(engine: Engine) -> None:
    mode = Mode.TXT2IMG_IP_ADAPTER
    strong = image(engine, request(mode, ip_adapter_scales=(1.0,)))
    off = image(engine, request(mode, ip_adapter_scales=(0.0,)))
    assert mean_diff(strong, off) > 0.5
    assert max_diff(off, image(engine, request())) <= 1  # scale 0 is the plain image
    requests = [request(mode, ip_adapter_images=(picture(32, seed=s),), seed=s) for s in (1, 2)]
    for req, got in zip(requests, engine.generate_batch([(r, Callbacks()) for r in requests]), strict=True):
        assert not isinstance(got, BaseException), got
        assert max_diff(got.images[0].image, image(engine, req)) <= 1


def test_style_and_character_together(engine: Engine) -> None:
    uses = (
        IpAdapterUse(IpAdapterType.CHARACTER, (picture(32, seed=3),), (0.9,)),
        IpAdapterUse(IpAdapterType.STYLE, (picture(32, seed=4), picture(32, seed=5)), (0.6, 0.3)),
    )
    both = image(engine, request(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=(), ip_adapters=uses))
    no_face = (IpAdapterUse(IpAdapterType.CHARACTER, uses[0].images, (0.0,)), uses[1])
    assert (
        mean_diff(both, image(engine, request(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=(), ip_adapters=no_face)))
        > 0.3
    )


def test_lora_epochs_default_to_the_last_and_unknown_ones_are_listed(engine: Engine) -> None:
    last = image(engine, request(model="tiny-flux-lora"))
    assert png_bytes(last) == png_bytes(image(engine, request(model="tiny-flux-lora", model_epoch="000003")))
    first = image(engine, request(model="tiny-flux-lora", model_epoch="000001"))
    assert mean_diff(first, last) > 0.3
    assert mean_diff(last, image(engine, request())) > 0.3  # the LoRA does something
    as_concept = image(engine, request(concepts=(Concept("tiny-flux-lora", 1.0, "000001"),)))
    assert max_diff(as_concept, first) <= 1
    resolved = engine.validate(request(model="tiny-flux-lora", model_epoch="000002"))
    assert resolved.parameters()["concepts"] == [{"modelId": "tiny-flux-lora", "scale": 1.0, "modelEpoch": "000002"}]
    err = refused(engine, request(model="tiny-flux-lora", model_epoch="000009"))
    assert err.field == "modelEpoch"
    assert "available: ['000001', '000002', '000003']" in err.message
    err = refused(engine, request(concepts=(Concept("tiny-flux-lora", 1.0, "7"),)))
    assert err.field == "concepts[0].modelEpoch"


def test_base_model_id_picks_a_compliant_base_and_refuses_others(engine: Engine) -> None:
    on_schnell = engine.validate(request(model="tiny-flux-lora", base_model_id="tiny-flux-schnell"))
    assert on_schnell.request.model_id == "tiny-flux-schnell" and on_schnell.num_inference_steps == 2
    err = refused(engine, request(model="tiny-flux-lora", base_model_id="tiny-sd15"))
    assert err.field == "baseModelId" and "allowed: ['tiny-flux', 'tiny-flux-schnell', 'tiny-flux-file']" in err.message
    err = refused(engine, request(base_model_id="tiny-flux-schnell"))
    assert err.field == "baseModelId"


@pytest.mark.parametrize(
    ("composition", "model", "concept", "size"),
    [
        ("tiny-flux-composition", "tiny-flux", Concept("tiny-flux-lora", 0.8, "000002"), SIZE),
        ("tiny-sd15-composition", "tiny-sd15", Concept("tiny-sd15-lora", 0.7), 64),
    ],
)
def test_a_composition_is_its_base_with_its_loras(
    engine: Engine, composition: str, model: str, concept: Concept, size: int
) -> None:
    composed = image(engine, request(model=composition, width=size, height=size))
    by_hand = image(engine, request(model=model, width=size, height=size, concepts=(concept,)))
    assert max_diff(composed, by_hand) <= 1


def test_the_single_file_checkpoint_runs_as_its_folder(engine: Engine) -> None:
    assert png_bytes(image(engine, request(model="tiny-flux-file"))) == png_bytes(image(engine, request()))


def test_kontext_edits_an_image_and_generates_without_one(engine: Engine) -> None:
    txt = image(engine, request(model="tiny-flux-kontext"))
    edit_a = image(engine, request(Mode.IMG2IMG, model="tiny-flux-kontext"))
    edit_b = image(engine, request(Mode.IMG2IMG, model="tiny-flux-kontext", image=picture(SIZE, seed=9)))
    assert txt.size == edit_a.size == (SIZE, SIZE)
    # The input image conditions the edit (random weights: a small effect, but never none).
    assert png_bytes(edit_a) != png_bytes(edit_b) and mean_diff(edit_a, edit_b) > 0.01


def test_previews_and_progress_follow_the_steps(engine: Engine) -> None:
    progress: list[Progress] = []
    previews: list[list[Image.Image]] = []
    callbacks = Callbacks(on_progress=progress.append, on_preview=previews.append)
    engine.generate(request(num_inference_steps=3, intermediate_images=True), callbacks)
    assert [p.done for p in progress] == [1, 2, 3]
    assert previews and previews[0][0].size == (SIZE // 8, SIZE // 8)


def test_flux2_generates_and_edits_with_a_reference(engine: Engine) -> None:
    txt = engine.generate(request(model="tiny-flux2", num_samples=2))
    assert [im.image.size for im in txt.images] == [(SIZE, SIZE)] * 2
    assert txt.resolved.guidance == 4.0 and txt.resolved.parameters()["modelType"] == "flux.2"
    edit_a = image(engine, request(Mode.IMG2IMG, model="tiny-flux2"))
    edit_b = image(engine, request(Mode.IMG2IMG, model="tiny-flux2", image=picture(SIZE, seed=9)))
    assert png_bytes(edit_a) != png_bytes(edit_b) and mean_diff(edit_a, edit_b) > 0.01  # the reference conditions it
    requests = [
        request(Mode.IMG2IMG, model="tiny-flux2", seed=s, image=picture(SIZE, seed=s), negative_prompt="blur")
        for s in (1, 2)
    ]
    for req, got in zip(requests, engine.generate_batch([(r, Callbacks()) for r in requests]), strict=True):
        assert not isinstance(got, BaseException), got
        assert max_diff(got.images[0].image, image(engine, req)) <= 1
    err = refused(engine, request(Mode.INPAINT, model="tiny-flux2"))
    assert err.reason == "unsupported_capability"


def test_krea_kontext_lora_and_sdxl_composition_types(engine: Engine, registry: Registry, tmp_path: Path) -> None:
    folder = registry.get("tiny-flux").source
    krea = ModelSpec(id="test-krea", name="krea", type=ModelType.FLUX1_KREA, source=folder)
    kontext_lora = ModelSpec(
        id="test-kontext-lora",
        name="kontext lora",
        type=ModelType.FLUX1_KONTEXT_LORA,
        epochs=registry.get("tiny-flux-lora").epochs,
        compliant_model_ids=("tiny-flux-kontext",),
    )
    look = ModelSpec(
        id="test-sdxl-look",
        name="sdxl look",
        type=ModelType.SDXL_COMPOSITION,
        compliant_model_ids=("tiny-sdxl",),
        concepts=(ConceptSpec(model_id="tiny-sdxl-lora", scale=0.5),),
    )
    for spec in (krea, kontext_lora, look):
        registry.add(spec, replace=True)
    try:
        assert engine.validate(request(model="test-krea")).guidance == 3.5
        edit = engine.validate(request(Mode.IMG2IMG, model="test-kontext-lora", model_epoch="000001"))
        assert edit.request.model_id == "tiny-flux-kontext" and edit.concepts[0].model_epoch == "000001"
        composed = engine.validate(request(model="test-sdxl-look", width=512, height=512))
        assert composed.concepts == (Concept("tiny-sdxl-lora", 0.5),) and composed.guidance == 6.0
    finally:
        for spec in (krea, kontext_lora, look):
            registry.remove(spec.id)


def test_a_flux2_lora_changes_the_image(engine: Engine, registry: Registry, tmp_path: Path) -> None:
    from diffusers import Flux2KleinPipeline

    from diffuserve.engine.tiny.flux_adapters import build_flux_lora

    base = engine.cache.get(registry.get("tiny-flux2")).pipe
    files = build_flux_lora(tmp_path, base.transformer, seed=5, pipeline_cls=Flux2KleinPipeline)
    lora = ModelSpec(
        id="test-flux2-lora",
        name="flux2 lora",
        type=ModelType.FLUX2_LORA,
        source=ModelSource(kind="single_file", path=str(files["000003"])),
        compliant_model_ids=("tiny-flux2",),
    )
    registry.add(lora, replace=True)
    try:
        with_lora = image(engine, request(model="test-flux2-lora"))
        assert mean_diff(with_lora, image(engine, request(model="tiny-flux2"))) > 0.1
    finally:
        registry.remove(lora.id)
