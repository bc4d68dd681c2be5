"""Every mode on both tiny families, through the real diffusers pipelines."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, Mode
from diffuserve.engine.engine import Engine
from tests.engine.helpers import center_mask, max_diff, mean_diff, picture, pixels, png_bytes

FAMILIES = {"tiny-sd15": 64, "tiny-sdxl": 512}


def request(mode: Mode, model: str = "tiny-sd15", **overrides: object) -> GenerationRequest:
    size = FAMILIES[model]
    fields: dict[str, object] = {
        "mode": mode,
        "model_id": model,
        "prompt": "a red fox in the snow",
        "num_samples": 1,
        "num_inference_steps": 2,
        "width": size,
        "height": size,
        "seed": 42,
    }
    if mode.uses_image:
        fields["image"] = picture(size)
    if mode.uses_mask:
        fields["mask"] = center_mask(size, margin=size // 3)
    if mode.uses_ip_adapter:
        fields["ip_adapter_images"] = (picture(32, seed=7),)
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", list(FAMILIES))
@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_gives_the_asked_number_of_images_at_the_asked_size(engine: Engine, model: str, mode: Mode) -> None:
    result = engine.generate(request(mode, model, num_samples=3))
    size = FAMILIES[model]
    assert [im.image.size for im in result.images] == [(size, size)] * 3
    assert [im.seed for im in result.images] == [42, 43, 44]
    assert [im.index for im in result.images] == [0, 1, 2]


def test_same_seed_gives_identical_bytes_and_another_seed_differs(engine: Engine) -> None:
    first = engine.generate(request(Mode.TXT2IMG)).images[0].image
    again = engine.generate(request(Mode.TXT2IMG)).images[0].image
    other = engine.generate(request(Mode.TXT2IMG, seed=43)).images[0].image
    assert png_bytes(first) == png_bytes(again)
    assert png_bytes(first) != png_bytes(other)


@pytest.mark.parametrize("mode", [Mode.TXT2IMG, Mode.IMG2IMG])
def test_image_i_does_not_depend_on_how_many_were_asked(engine: Engine, mode: Mode) -> None:
    # max_batch_images is 2 in the test settings, so 3 samples also cross a batch boundary.
    many = engine.generate(request(mode, num_samples=3, seed=100)).images
    for item in many:
        alone = engine.generate(request(mode, num_samples=1, seed=item.seed)).images[0]
        assert max_diff(item.image, alone.image) <= 1


def test_no_seed_gets_a_random_one_that_reproduces(engine: Engine) -> None:
    result = engine.generate(request(Mode.TXT2IMG, seed=None, num_samples=2))
    seeds = [im.seed for im in result.images]
    assert seeds[1] == seeds[0] + 1
    again = engine.generate(request(Mode.TXT2IMG, seed=seeds[0])).images[0]
    assert max_diff(again.image, result.images[0].image) <= 1  # batch of 2 vs 1: rounding only


def test_low_strength_keeps_the_input_and_full_strength_erases_it(engine: Engine) -> None:
    # The tiny VAE has random weights, so no output resembles its input in pixels; what strength controls is
    # how much of the input survives: at 0.05 two different inputs stay far apart, at 1.0 they nearly meet.
    a, b = picture(64, seed=0), ImageOps.invert(picture(64, seed=5))

    def run(image: Image.Image, strength: float) -> Image.Image:
        return (
            engine.generate(request(Mode.IMG2IMG, image=image, strength=strength, num_inference_steps=20))
            .images[0]
            .image
        )

    kept = mean_diff(run(a, 0.05), run(b, 0.05))
    erased = mean_diff(run(a, 1.0), run(b, 1.0))
    assert kept > 4 * erased


@pytest.mark.parametrize("model", list(FAMILIES))
def test_inpaint_merging_keeps_pixels_away_from_the_mask(engine: Engine, model: str) -> None:
    size = FAMILIES[model]
    source, margin = picture(size), size // 3
    merged = engine.generate(request(Mode.INPAINT, model, image=source, strength=1.0)).images[0].image
    raw = engine.generate(request(Mode.INPAINT, model, image=source, strength=1.0, disable_merging=True)).images[0]
    edge = size // 8  # well beyond the soft edge
    keep = (slice(0, margin - edge), slice(None))
    assert (pixels(merged)[keep] == pixels(source)[keep]).all()
    assert (pixels(raw.image)[keep] != pixels(source)[keep]).any()
    inside = (slice(margin + 2, size - margin - 2), slice(margin + 2, size - margin - 2))
    assert (pixels(merged)[inside] != pixels(source)[inside]).any()


@pytest.mark.parametrize("model", list(FAMILIES))
def test_ip_adapter_scale_zero_equals_no_adapter_and_scale_one_differs(engine: Engine, model: str) -> None:
    plain = engine.generate(request(Mode.TXT2IMG, model)).images[0].image
    zero = engine.generate(request(Mode.TXT2IMG_IP_ADAPTER, model, ip_adapter_scales=(0.0,))).images[0].image
    one = engine.generate(request(Mode.TXT2IMG_IP_ADAPTER, model, ip_adapter_scales=(1.0,))).images[0].image
    assert png_bytes(zero) == png_bytes(plain)
    assert max_diff(one, plain) > 2
    # A plain request after an adapter request runs on the untouched UNet again.
    after = engine.generate(request(Mode.TXT2IMG, model)).images[0].image
    assert png_bytes(after) == png_bytes(plain)


@pytest.mark.parametrize("model", list(FAMILIES))
def test_style_and_character_use_different_weights(engine: Engine, model: str) -> None:
    style = engine.generate(request(Mode.TXT2IMG_IP_ADAPTER, model, ip_adapter_scales=(1.0,))).images[0].image
    face = (
        engine.generate(
            request(
                Mode.TXT2IMG_IP_ADAPTER,
                model,
                ip_adapter_scales=(1.0,),
                ip_adapter_type=IpAdapterType.CHARACTER,
            )
        )
        .images[0]
        .image
    )
    assert max_diff(style, face) > 2


def test_several_reference_images_each_with_its_own_scale(engine: Engine) -> None:
    refs = (picture(32, seed=1), picture(32, seed=2))
    both = engine.generate(request(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=refs, ip_adapter_scales=(1.0, 1.0)))
    first_only = engine.generate(request(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=refs, ip_adapter_scales=(1.0, 0.0)))
    single = engine.generate(request(Mode.TXT2IMG_IP_ADAPTER, ip_adapter_images=refs[:1], ip_adapter_scales=(1.0,)))
    assert max_diff(both.images[0].image, first_only.images[0].image) > 2
    # The second image at scale 0 adds nothing: the same as the first image alone.
    assert max_diff(first_only.images[0].image, single.images[0].image) <= 1
    assert both.resolved.ip_adapter_scales == (1.0, 1.0)


@pytest.mark.parametrize("model,lora", [("tiny-sd15", "tiny-sd15-lora"), ("tiny-sdxl", "tiny-sdxl-lora")])
def test_lora_scale_zero_is_base_one_differs_and_next_request_is_base_again(
    engine: Engine, model: str, lora: str
) -> None:
    base = engine.generate(request(Mode.TXT2IMG, model)).images[0].image
    zero = engine.generate(request(Mode.TXT2IMG, model, concepts=(Concept(lora, 0.0),))).images[0].image
    one = engine.generate(request(Mode.TXT2IMG, model, concepts=(Concept(lora, 1.0),))).images[0].image
    after = engine.generate(request(Mode.TXT2IMG, model)).images[0].image
    assert png_bytes(zero) == png_bytes(base)
    assert max_diff(one, base) > 2
    assert png_bytes(after) == png_bytes(base)


def test_a_lora_model_id_runs_its_base_with_the_lora(engine: Engine) -> None:
    direct = engine.generate(request(Mode.TXT2IMG, model_id="tiny-sd15-lora", width=64, height=64)).images[0]
    explicit = engine.generate(request(Mode.TXT2IMG, concepts=(Concept("tiny-sd15-lora", 1.0),))).images[0]
    assert png_bytes(direct.image) == png_bytes(explicit.image)


def test_single_file_checkpoint_gives_the_same_images_as_the_folder(engine: Engine) -> None:
    folder = engine.generate(request(Mode.TXT2IMG, "tiny-sd15")).images[0].image
    single = engine.generate(request(Mode.TXT2IMG, model_id="tiny-sd15-file", width=64, height=64)).images[0].image
    assert png_bytes(folder) == png_bytes(single)
