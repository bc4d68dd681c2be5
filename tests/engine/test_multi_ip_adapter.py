"""Several IP-Adapter sets in one request: a `character` face with `style` images, each set and image with its
own scale, batched as alone (SD 1.5 tiny; FLUX in test_flux.py)."""

from __future__ import annotations

import pytest

from diffuserve.catalog.batching import batch_key
from diffuserve.catalog.types import Callbacks, GenerationRequest, IpAdapterType, IpAdapterUse, Mode
from diffuserve.engine.engine import Engine
from diffuserve.errors import InvalidRequest
from tests.engine.helpers import max_diff, mean_diff, picture

STYLE, CHARACTER = IpAdapterType.STYLE, IpAdapterType.CHARACTER


def request(
    style: tuple[float, ...] = (0.8, 0.4), character: tuple[float, ...] = (0.7,), i: int = 0, **overrides: object
) -> GenerationRequest:
    fields: dict[str, object] = {
        "mode": Mode.TXT2IMG_IP_ADAPTER,
        "model_id": "tiny-sd15",
        "prompt": ["a portrait in watercolor", "a knight", "a sailor"][i % 3],
        "num_inference_steps": 2,
        "width": 64,
        "height": 64,
        "seed": 7 + 100 * i,
        "ip_adapters": (
            IpAdapterUse(CHARACTER, (picture(32, seed=10 + i),), character),
            IpAdapterUse(STYLE, (picture(32, seed=20 + i), picture(32, seed=30 + i)), style),
        ),
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def image(engine: Engine, req: GenerationRequest) -> object:
    return engine.generate(req).images[0].image


def test_two_sets_together_resolve_their_scales_and_key_by_both(engine: Engine) -> None:
    resolved = engine.validate(request(style=(0.5,)))
    assert [(a.type, a.scales) for a in resolved.ip_adapters] == [(CHARACTER, (0.7,)), (STYLE, (0.5, 0.5))]
    assert resolved.ip_adapter_scales == (0.7, 0.5, 0.5)
    assert resolved.parameters()["ipAdapters"] == [
        {"type": "character", "scales": [0.7]},
        {"type": "style", "scales": [0.5, 0.5]},
    ]
    key = batch_key(resolved)
    assert key.ip_adapter_type == "character+style"
    # One face and two style images never batch with two faces and one style image, whatever the scales.
    swapped = (
        IpAdapterUse(CHARACTER, (picture(32, seed=1), picture(32, seed=2)), (0.7,)),
        IpAdapterUse(STYLE, (picture(32, seed=3),), (0.5,)),
    )
    one_face = batch_key(engine.validate(request(style=(0.7, 0.5))))
    two_faces = batch_key(engine.validate(request(ip_adapters=swapped)))
    assert one_face.ip_adapter_scales == two_faces.ip_adapter_scales == (0.7, 0.7, 0.5)
    assert one_face != two_faces


def test_each_set_and_each_scale_changes_the_image(engine: Engine) -> None:
    both = image(engine, request())
    assert mean_diff(both, image(engine, request(character=(0.0,)))) > 1  # the face matters
    assert mean_diff(both, image(engine, request(style=(0.0, 0.0)))) > 1  # the style images matter
    assert mean_diff(both, image(engine, request(style=(0.8, 0.0)))) > 0.5  # so does the second style image


def test_zero_scales_give_the_plain_image(engine: Engine) -> None:
    off = image(engine, request(style=(0.0, 0.0), character=(0.0,)))
    plain = engine.generate(
        GenerationRequest(
            Mode.TXT2IMG, "tiny-sd15", "a portrait in watercolor", num_inference_steps=2, width=64, height=64, seed=7
        )
    )
    assert max_diff(off, plain.images[0].image) <= 1


def test_batched_equals_alone_with_two_sets(engine: Engine) -> None:
    requests = [request(i=i) for i in range(3)]
    batched = engine.generate_batch([(r, Callbacks()) for r in requests])
    for req, got in zip(requests, batched, strict=True):
        assert not isinstance(got, BaseException), got
        assert max_diff(got.images[0].image, image(engine, req)) <= 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ip_adapter_images": (picture(32),)}, "ipAdapters", "not both"),
        (
            {"ip_adapters": (IpAdapterUse(STYLE, (picture(32),)), IpAdapterUse(STYLE, (picture(32),)))},
            "ipAdapters[1].type",
            "given twice",
        ),
        ({"ip_adapters": (IpAdapterUse(STYLE, (picture(32),), (0.5, 0.5)),)}, "ipAdapters[0].scales", "2 values"),
        ({"ip_adapters": (IpAdapterUse(STYLE, ()),)}, "ipAdapters", "at least one"),
    ],
)
def test_bad_sets_are_refused(engine: Engine, overrides: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        engine.validate(request(**overrides))
    assert err.value.field == field and message in err.value.message
