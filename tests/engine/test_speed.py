"""Speed switches: each one set in Settings really changes the pipeline the cache loads, and none changes the image."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.attention_processor import Attention, FusedAttnProcessor2_0
from torch._dynamo.utils import counters

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import Concept, GenerationRequest, Mode
from diffuserve.config import Settings
from diffuserve.engine.cache import PipelineCache
from diffuserve.engine.engine import Engine
from diffuserve.engine.families import family
from diffuserve.engine.lora import Loras, adapter_name
from diffuserve.engine.speed import apply_speed_settings

TOLERANCE = 2 / 255  # images are float in [0, 1]; at most 2 levels of 8-bit difference
EAGER_SWITCHES = {"fuse_qkv": True, "channels_last": True, "vae_slicing": True, "vae_tiling": True}


def _load(registry: Registry, model_id: str, speed: Settings | None) -> DiffusionPipeline:
    """`model_id` loaded on the CPU through a pipeline cache of its own, with the switches `speed` turns on."""
    cache = PipelineCache(torch.device("cpu"), torch.float32, 1 << 30, speed=speed)
    pipe = cache.get(registry.get(model_id)).pipe
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _generate(pipe: DiffusionPipeline, size: int = 64) -> np.ndarray:
    """Two 2-step images in one batch (so VAE slicing has a batch to slice), one seed each."""
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in (1, 2)]
    with torch.inference_mode():
        out = pipe(
            "a red fox in the snow",
            num_inference_steps=2,
            width=size,
            height=size,
            num_images_per_prompt=2,
            generator=generators,
            output_type="np",
        )
    images: np.ndarray = out.images
    assert images.shape == (2, size, size, 3)
    return images


def _switched(settings: Settings, **switches: Any) -> Settings:
    return settings.model_copy(update=switches)


def _four_d_weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in module.parameters() if p.dim() == 4]


def _attentions(module: torch.nn.Module) -> list[Attention]:
    return [m for m in module.modules() if isinstance(m, Attention)]


def _compiled_blocks(module: torch.nn.Module) -> list[str]:
    return [name for name, m in module.named_modules() if getattr(m, "_compiled_call_impl", None) is not None]


@pytest.fixture(scope="module")
def eager_images(registry: Registry) -> dict[str, np.ndarray]:
    """The reference: each family's images with no switch on."""
    return {model: _generate(_load(registry, model, None)) for model in ("tiny-sd15", "tiny-sdxl")}


def test_default_settings_on_the_cpu_apply_nothing(
    registry: Registry, session_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="diffuserve.engine.speed"):
        pipe = _load(registry, "tiny-sd15", session_settings)
    assert caplog.records == []
    assert apply_speed_settings(pipe, session_settings) == []
    assert not pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert not pipe.vae.decoder.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(hasattr(a, "to_qkv") or hasattr(a, "to_kv") for a in _attentions(pipe.unet))
    assert not any(isinstance(p, FusedAttnProcessor2_0) for p in pipe.unet.attn_processors.values())
    assert not pipe.vae.use_slicing
    assert not pipe.vae.use_tiling
    assert pipe.unet._prepare_lora_hotswap_kwargs is None
    assert _compiled_blocks(pipe.unet) == []


@pytest.mark.parametrize("model", ["tiny-sd15", "tiny-sdxl"])
def test_eager_switches_take_effect_and_keep_the_image(
    registry: Registry,
    session_settings: Settings,
    eager_images: dict[str, np.ndarray],
    caplog: pytest.LogCaptureFixture,
    model: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="diffuserve.engine.speed"):
        pipe = _load(registry, model, _switched(session_settings, **EAGER_SWITCHES))
    assert "switches=fuse_qkv,channels_last,vae_slicing,vae_tiling " in caplog.text
    # channels_last: every 4-D weight of the UNet and the VAE, 3x3 convolutions included.
    for component in (pipe.unet, pipe.vae):
        weights = _four_d_weights(component)
        assert any(w.shape[-1] > 1 for w in weights)
        assert all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    # fuse_qkv: self-attention runs one q/k/v matmul, cross-attention one k/v matmul, in UNet and VAE alike.
    for component in (pipe.unet, pipe.vae):
        assert all(isinstance(p, FusedAttnProcessor2_0) for p in component.attn_processors.values())
        for attention in _attentions(component):
            if attention.is_cross_attention:
                expected = torch.cat([attention.to_k.weight, attention.to_v.weight])
                assert torch.equal(attention.to_kv.weight, expected)
            else:
                expected = torch.cat([attention.to_q.weight, attention.to_k.weight, attention.to_v.weight])
                assert torch.equal(attention.to_qkv.weight, expected)
    assert pipe.vae.use_slicing
    assert pipe.vae.use_tiling
    # 64x64 is one VAE tile, so tiling leaves this image alone; the other switches must too.
    np.testing.assert_allclose(_generate(pipe), eager_images[model], atol=TOLERANCE, rtol=0)


def test_vae_tiling_decodes_a_large_image_tile_by_tile(registry: Registry, session_settings: Settings) -> None:
    plain = _load(registry, "tiny-sd15", None)
    vae = _load(registry, "tiny-sd15", _switched(session_settings, vae_tiling=True)).vae
    tile = vae.tile_latent_min_size
    kept = vae.tile_sample_min_size - int(vae.tile_sample_min_size * vae.tile_overlap_factor)  # before blending
    latents = torch.randn(1, 4, 3 * tile, 3 * tile, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        whole = plain.vae.decode(latents).sample
        tiled = vae.decode(latents).sample
        corner = plain.vae.decode(latents[:, :, :tile, :tile]).sample[:, :, :kept, :kept]
    assert tiled.shape == whole.shape
    # The tiled decode's top-left corner is the top-left tile decoded alone, which the whole decode is not.
    torch.testing.assert_close(tiled[:, :, :kept, :kept], corner)
    assert not torch.allclose(whole[:, :, :kept, :kept], corner, atol=1e-2)


def test_lora_hotswap_pads_the_first_lora_to_the_target_rank_and_keeps_its_image(
    registry: Registry, session_settings: Settings
) -> None:
    lora = registry.get("tiny-sd15-lora")
    images = {}
    for rank in (0, 8):
        pipe = _load(registry, "tiny-sd15", _switched(session_settings, lora_hotswap_rank=rank))
        Loras().apply(pipe, family("sd15"), {}, [(lora, 0.7, None)])
        to_q = pipe.unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1.to_q
        assert to_q.lora_A[adapter_name(lora.id)].weight.shape[0] == (rank or 4)  # the tiny LoRA has rank 4
        images[rank] = _generate(pipe)
    np.testing.assert_allclose(images[8], images[0], atol=TOLERANCE, rtol=0)


@pytest.fixture()
def one_thread() -> Iterator[None]:
    """Inductor's CPU kernels spin OpenMP threads; on a small shared machine one thread keeps them fast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch._dynamo.reset()


@pytest.mark.usefixtures("one_thread")
def test_compile_compiles_the_transformer_blocks_and_keeps_the_image(
    registry: Registry, session_settings: Settings, eager_images: dict[str, np.ndarray]
) -> None:
    pipe = _load(registry, "tiny-sd15", _switched(session_settings, compile=True, channels_last=True))
    compiled = _compiled_blocks(pipe.unet)
    blocks = [name for name, m in pipe.unet.named_modules() if isinstance(m, BasicTransformerBlock)]
    assert blocks
    assert compiled == blocks  # only the repeated blocks: the UNet around them stays eager
    graphs = counters["stats"]["unique_graphs"]
    images = _generate(pipe)
    assert counters["stats"]["unique_graphs"] > graphs  # dynamo really traced the blocks
    np.testing.assert_allclose(images, eager_images["tiny-sd15"], atol=TOLERANCE, rtol=0)


def test_the_engine_loads_its_pipelines_with_its_settings_switches(
    registry: Registry, session_settings: Settings
) -> None:
    engine = Engine(registry, _switched(session_settings, channels_last=True, vae_slicing=True))
    request = GenerationRequest(Mode.TXT2IMG, "tiny-sd15", "a fox", num_inference_steps=2, width=64, height=64, seed=1)
    assert len(engine.generate(request).images) == 1
    pipe = engine.cache.get(registry.get("tiny-sd15")).pipe
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert pipe.vae.use_slicing


def test_a_lora_on_a_fused_unet_applies_in_full(
    registry: Registry, session_settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fused = Engine(registry, _switched(session_settings, fuse_qkv=True))
    request = GenerationRequest(
        Mode.TXT2IMG,
        "tiny-sd15",
        "a fox",
        num_inference_steps=2,
        width=64,
        height=64,
        seed=3,
        concepts=(Concept("tiny-sd15-lora", 1.0),),
    )
    with caplog.at_level(logging.WARNING, logger="diffuserve.engine.lora"):
        image = fused.generate(request).images[0].image
    assert "unfusing" in caplog.text
    reference = engine.generate(request).images[0].image  # the session engine never fuses
    assert np.abs(np.asarray(image, dtype=np.int16) - np.asarray(reference, dtype=np.int16)).max() <= 2
