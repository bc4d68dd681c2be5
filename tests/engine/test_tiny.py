"""The tiny demo models load through the real diffusers code paths and behave like real ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import (
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
)
from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint
from PIL import Image
from safetensors.torch import load_file

from diffuserve.catalog.registry import ModelType
from diffuserve.catalog.types import IpAdapterType
from diffuserve.engine.tiny import DEMO_MODEL_IDS, MARKER, build_demo_models

Pipe = StableDiffusionPipeline | StableDiffusionXLPipeline


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny")
    build_demo_models(path)
    return path


def _run(pipe: Pipe, prompt: str = "a cat", **kwargs: object) -> np.ndarray:
    generator = torch.Generator().manual_seed(0)
    out = pipe(prompt, num_inference_steps=2, height=64, width=64, generator=generator, output_type="np", **kwargs)
    images: np.ndarray = out.images
    assert images.shape == (1, 64, 64, 3)
    return images


def _ref_image() -> Image.Image:
    return Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8"))


def _tensors(root: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {str(p.relative_to(root)): load_file(p) for p in sorted(root.rglob("*.safetensors"))}


def test_specs_point_at_built_files(root: Path) -> None:
    specs = {s.id: s for s in build_demo_models(root)}
    assert tuple(specs) == DEMO_MODEL_IDS
    assert specs["tiny-sd15"].type is ModelType.SD15
    assert specs["tiny-sdxl-lora"].compliant_model_ids == ("tiny-sdxl",)
    assert specs["tiny-sdxl"].inpaint_source is None
    assert specs["tiny-sdxl"].ip_adapters[IpAdapterType.STYLE].scale_mode == "instantstyle"
    for spec in specs.values():
        assert "demo, random weights" in spec.name
        paths = [spec.inpaint_source and spec.inpaint_source.path, *spec.epochs.values()]
        paths += [spec.source.path, spec.source.config] if spec.source is not None else []
        paths += [p for s in spec.ip_adapters.values() for p in (s.weights, s.image_encoder)]
        for path in filter(None, paths):
            assert Path(path).is_absolute() and Path(path).exists(), path


def test_building_twice_gives_identical_files(root: Path, tmp_path: Path) -> None:
    build_demo_models(tmp_path)
    first, second = _tensors(root), _tensors(tmp_path)
    assert first.keys() == second.keys() and len(first) == 19 + 23 + 3 + 3  # SD, FLUX.1, FLUX.2 [klein], FLUX.2 [dev]
    for name, tensors in first.items():
        assert tensors.keys() == second[name].keys(), name
        assert all(torch.equal(t, second[name][k]) for k, t in tensors.items()), name
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.suffix != ".safetensors")
    for rel in files:
        if rel.name != ".tiny-models.lock":
            assert (root / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_half_built_tree_is_rebuilt(tmp_path: Path) -> None:
    build_demo_models(tmp_path)
    unet = tmp_path / "tiny-sd15" / "unet" / "diffusion_pytorch_model.safetensors"
    before = unet.stat().st_mtime_ns
    build_demo_models(tmp_path)
    assert unet.stat().st_mtime_ns == before  # built trees are kept
    (tmp_path / MARKER).unlink()  # as after a crash mid-build
    unet.write_bytes(b"truncated")
    (tmp_path / ".tiny-build-killed").mkdir()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_demo_models(tmp_path)
    assert torch.equal(torch.rand(3), expected)  # building does not disturb the caller's RNG
    assert load_file(unet)
    assert not list(tmp_path.glob(".tiny-build-*"))


def test_folders_run_through_real_pipelines(root: Path) -> None:
    sd15 = StableDiffusionPipeline.from_pretrained(root / "tiny-sd15", local_files_only=True)
    _run(sd15, "ünïcödé 日本語 🐱 prompt", negative_prompt="blurry")
    inpaint = StableDiffusionInpaintPipeline.from_pretrained(root / "tiny-sd15-inpaint", local_files_only=True)
    assert inpaint.unet.config.in_channels == 9
    _run(inpaint, image=_ref_image(), mask_image=Image.new("L", (64, 64), 255))
    sdxl = StableDiffusionXLPipeline.from_pretrained(root / "tiny-sdxl", local_files_only=True)
    _run(sdxl, "a cat 🐱")


def test_single_file_matches_folder(root: Path) -> None:
    folder = StableDiffusionPipeline.from_pretrained(root / "tiny-sd15", local_files_only=True)
    single = StableDiffusionPipeline.from_single_file(
        root / "tiny-sd15-file.safetensors", config=str(root / "tiny-sd15"), local_files_only=True
    )
    for name in ("unet", "vae", "text_encoder"):
        expected, got = getattr(folder, name).state_dict(), getattr(single, name).state_dict()
        assert expected.keys() == got.keys(), name
        for key, tensor in expected.items():
            assert not got[key].is_meta and torch.equal(tensor, got[key]), f"{name}.{key}"
    assert np.array_equal(_run(folder), _run(single))


def test_ldm_checkpoint_round_trips_through_diffusers_converters(root: Path) -> None:
    checkpoint = load_file(root / "tiny-sd15-file.safetensors")
    folder = StableDiffusionPipeline.from_pretrained(root / "tiny-sd15", local_files_only=True)
    for model, convert in (
        (folder.unet, convert_ldm_unet_checkpoint),
        (folder.vae, convert_ldm_vae_checkpoint),
    ):
        converted = convert(checkpoint, dict(model.config))
        expected = model.state_dict()
        assert converted.keys() == expected.keys()
        assert all(torch.equal(converted[k], v) for k, v in expected.items())
    text_keys = [k for k in checkpoint if k.startswith("cond_stage_model.")]
    unet_keys = [k for k in checkpoint if k.startswith("model.diffusion_model.")]
    vae_keys = [k for k in checkpoint if k.startswith("first_stage_model.")]
    assert len(text_keys) + len(unet_keys) + len(vae_keys) == len(checkpoint)
    assert checkpoint["first_stage_model.encoder.mid.attn_1.q.weight"].ndim == 4  # 1x1 conv in LDM


def test_sd15_ip_adapters_load_and_change_the_image(root: Path) -> None:
    pipe = StableDiffusionPipeline.from_pretrained(root / "tiny-sd15", local_files_only=True)
    base = _run(pipe)
    models = root / "tiny-ip-adapter" / "models"
    style = load_file(models / "ip-adapter_sd15.safetensors")
    character = load_file(models / "ip-adapter-plus-face_sd15.safetensors")
    assert not torch.equal(style["ip_adapter.1.to_k_ip.weight"], character["ip_adapter.1.to_k_ip.weight"])
    for weight_name in ("ip-adapter_sd15.safetensors", "ip-adapter-plus-face_sd15.safetensors"):
        pipe.load_ip_adapter(
            root / "tiny-ip-adapter", subfolder="models", weight_name=weight_name, local_files_only=True
        )
        pipe.set_ip_adapter_scale(0.0)
        assert np.array_equal(_run(pipe, ip_adapter_image=_ref_image()), base)
        pipe.set_ip_adapter_scale(1.0)
        assert np.abs(_run(pipe, ip_adapter_image=_ref_image()) - base).max() > 0.1, weight_name
        pipe.unload_ip_adapter()


def test_sdxl_ip_adapters_need_the_vit_h_encoder(root: Path) -> None:
    specs = {s.id: s for s in build_demo_models(root)}
    pipe = StableDiffusionXLPipeline.from_pretrained(root / "tiny-sdxl", local_files_only=True)
    base = _run(pipe)
    for kind, scale in (
        (IpAdapterType.STYLE, {"up": {"block_0": [0.0, 1.0, 0.0]}}),
        (IpAdapterType.CHARACTER, 1.0),
    ):
        ip = specs["tiny-sdxl"].ip_adapters[kind]
        weights = Path(ip.weights)  # absolute paths as the registry gives them
        pipe.load_ip_adapter(
            weights.parent,
            subfolder="",
            weight_name=weights.name,
            image_encoder_folder=ip.image_encoder,
            local_files_only=True,
        )
        pipe.set_ip_adapter_scale(scale)
        assert np.abs(_run(pipe, ip_adapter_image=_ref_image()) - base).max() > 0.1, kind
        pipe.unload_ip_adapter()
    # As with the real h94 files, sdxl_models/image_encoder (bigG) does not fit the *_vit-h adapters.
    pipe.load_ip_adapter(
        root / "tiny-ip-adapter",
        subfolder="sdxl_models",
        weight_name="ip-adapter-plus_sdxl_vit-h.safetensors",
        local_files_only=True,
    )
    with pytest.raises(RuntimeError):
        _run(pipe, ip_adapter_image=_ref_image())


@pytest.mark.parametrize(
    ("pipeline_cls", "model", "lora"),
    [
        (StableDiffusionPipeline, "tiny-sd15", "tiny-sd15-lora"),
        (StableDiffusionXLPipeline, "tiny-sdxl", "tiny-sdxl-lora"),
    ],
)
def test_lora_loads_and_changes_the_image(root: Path, pipeline_cls: type[Pipe], model: str, lora: str) -> None:
    pipe = pipeline_cls.from_pretrained(root / model, local_files_only=True)
    base = _run(pipe)
    pipe.load_lora_weights(
        str(root / lora / "pytorch_lora_weights.safetensors"), adapter_name="a", local_files_only=True
    )
    assert np.abs(_run(pipe) - base).max() > 0.1
    pipe.set_adapters(["a"], [0.0])
    assert np.array_equal(_run(pipe), base)
