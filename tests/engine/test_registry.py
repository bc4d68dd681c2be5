"""The registry file, capabilities, and loading failures that name the file and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from diffuserve.catalog.registry import IpAdapterSet, ModelSource, ModelSpec, ModelType, Registry
from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, Mode
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.errors import InvalidRequest, ModelLoadError, NotFound


def spec(model_id: str, path: str, **extra: object) -> ModelSpec:
    return ModelSpec(
        id=model_id, name=model_id, type=ModelType.SD15, source=ModelSource(kind="folder", path=path), **extra
    )  # type: ignore[arg-type]


def test_add_list_get_remove_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    registry = Registry(path)
    registry.add(spec("a", "/models/a"))
    assert [m.id for m in Registry(path).list()] == ["a"]
    with pytest.raises(InvalidRequest, match="already exists"):
        registry.add(spec("a", "/elsewhere"))
    registry.add(spec("a", "/elsewhere"), replace=True)
    assert Registry(path).get("a").source.path == "/elsewhere"
    registry.remove("a")
    with pytest.raises(NotFound):
        Registry(path).get("a")


def test_hand_edits_are_picked_up_and_broken_files_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    registry = Registry(path)
    path.write_text(
        "models:\n  - id: hand\n    name: Hand made\n    type: sd-xl\n"
        "    source: {kind: hub, path: stabilityai/stable-diffusion-xl-base-1.0}\n"
    )
    assert registry.get("hand").type is ModelType.SDXL
    path.write_text("models:\n  - id: broken\n    type: sd-9\n")
    with pytest.raises(ModelLoadError, match=r"registry file .* is not valid"):
        registry.list()


def test_capabilities_follow_what_is_configured() -> None:
    plain = spec("p", "/p")
    assert plain.capabilities == ("txt2img", "img2img", "inpaint")
    adapters = {IpAdapterType.STYLE: IpAdapterSet(weights="/w.safetensors", image_encoder="/enc")}
    with_ip = spec("q", "/q", ip_adapters=adapters)
    assert with_ip.capabilities == (
        "txt2img",
        "img2img",
        "inpaint",
        "txt2img_ip_adapter",
        "img2img_ip_adapter",
        "inpaint_ip_adapter",
    )


@pytest.mark.parametrize(
    "source,message",
    [
        (ModelSource(kind="folder", path="/nowhere/model"), "folder /nowhere/model does not exist"),
        (
            ModelSource(kind="single_file", path="/nowhere/m.safetensors"),
            "checkpoint file /nowhere/m.safetensors does not exist (expected a .safetensors file)",
        ),
    ],
)
def test_missing_files_fail_with_a_message_naming_the_file(tmp_path: Path, source: ModelSource, message: str) -> None:
    registry = Registry(tmp_path / "models.yaml")
    registry.add(ModelSpec(id="gone", name="gone", type=ModelType.SD15, source=source))
    engine = Engine(registry, Settings(data_dir=tmp_path))
    with pytest.raises(ModelLoadError) as caught:
        engine.generate(GenerationRequest(Mode.TXT2IMG, "gone", "x", width=64, height=64, num_inference_steps=1))
    assert message in caught.value.message


def test_a_folder_without_model_index_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    registry = Registry(tmp_path / "models.yaml")
    registry.add(spec("empty", str(tmp_path / "empty")))
    engine = Engine(registry, Settings(data_dir=tmp_path))
    with pytest.raises(ModelLoadError, match=r"model_index\.json is missing"):
        engine.generate(GenerationRequest(Mode.TXT2IMG, "empty", "x", width=64, height=64, num_inference_steps=1))


def test_wrong_ip_adapter_weights_are_reported(tmp_path: Path, registry: Registry) -> None:
    bad = tmp_path / "not-an-adapter.safetensors"
    save_file({"something.else": torch.zeros(2)}, str(bad))
    base = registry.get("tiny-sd15")
    style = base.ip_adapters[IpAdapterType.STYLE].model_copy(update={"weights": str(bad)})
    local = Registry(tmp_path / "models.yaml")
    local.add(base.model_copy(update={"ip_adapters": {IpAdapterType.STYLE: style}}))
    engine = Engine(local, Settings(data_dir=tmp_path))
    request = GenerationRequest(
        Mode.TXT2IMG_IP_ADAPTER,
        "tiny-sd15",
        "x",
        width=64,
        height=64,
        num_inference_steps=1,
        ip_adapter_images=(Image.new("RGB", (32, 32), "white"),),
    )
    with pytest.raises(ModelLoadError, match=r"expected `image_proj\.\*` and `ip_adapter\.\*` tensors"):
        engine.generate(request)


def test_cache_evicts_the_least_recently_used_model_under_its_budget(tmp_path: Path, registry: Registry) -> None:
    settings = Settings(data_dir=tmp_path, cache_budget_mb=64)
    engine = Engine(registry, settings)
    sd15, sdxl = registry.get("tiny-sd15"), registry.get("tiny-sdxl")
    first = engine.cache.get(sd15)
    engine.cache.budget_bytes = first.size_bytes + 1  # room for one model only
    engine.cache.get(sdxl)
    assert engine.cache.loaded() == [("tiny-sdxl", "base")]
    assert not engine.cache.is_loaded(sd15)


def test_a_hub_model_that_cannot_be_fetched_fails_fast_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    registry = Registry(tmp_path / "models.yaml")
    registry.add(
        ModelSpec(id="hub", name="hub", type=ModelType.SD15, source=ModelSource(kind="hub", path="nobody/no-model"))
    )
    engine = Engine(registry, Settings(data_dir=tmp_path))
    with pytest.raises(ModelLoadError) as caught:
        engine.generate(GenerationRequest(Mode.TXT2IMG, "hub", "x", width=64, height=64, num_inference_steps=1))
    assert "could not load hub nobody/no-model" in caught.value.message
    assert "offline?" in caught.value.message


def test_device_and_dtype_are_picked_automatically_and_can_be_overridden(tmp_path: Path, registry: Registry) -> None:
    auto = Engine(registry, Settings(data_dir=tmp_path))
    assert (auto.device.type, auto.dtype) == ("cpu", torch.float32)  # no accelerator on the test machines
    bf16 = Engine(registry, Settings(data_dir=tmp_path, device="cpu", dtype="bfloat16"))
    result = bf16.generate(
        GenerationRequest(Mode.TXT2IMG, "tiny-sd15", "x", width=64, height=64, num_inference_steps=1)
    )
    loaded = bf16.cache.get(registry.get("tiny-sd15"))
    # The per-request pipelines (from_pipe) must not cast the shared weights back to float32.
    assert loaded.pipe.unet.dtype == loaded.pipe.text_encoder.dtype == loaded.pipe.vae.dtype == torch.bfloat16
    assert result.images[0].image.size == (64, 64)


def test_adapters_that_do_not_fit_fail_cleanly_and_leave_the_model_untouched(
    tmp_path: Path, registry: Registry, engine: Engine
) -> None:
    """An SDXL IP-Adapter or LoRA registered on an SD 1.5 model fails with a message; later requests are unharmed."""
    base = registry.get("tiny-sd15")
    sdxl = registry.get("tiny-sdxl")
    local = Registry(tmp_path / "models.yaml")
    local.add(base.model_copy(update={"ip_adapters": {IpAdapterType.STYLE: sdxl.ip_adapters[IpAdapterType.STYLE]}}))
    wrong_lora = registry.get("tiny-sdxl-lora").model_copy(
        update={"id": "xl-lora-on-sd15", "type": ModelType.SD15_LORA, "compliant_model_ids": ("tiny-sd15",)}
    )
    local.add(wrong_lora)
    mismatched = Engine(local, Settings(data_dir=tmp_path))
    plain = GenerationRequest(Mode.TXT2IMG, "tiny-sd15", "x", width=64, height=64, num_inference_steps=2, seed=3)
    with pytest.raises(ModelLoadError, match="do not fit this model"):
        mismatched.generate(
            GenerationRequest(
                Mode.TXT2IMG_IP_ADAPTER,
                "tiny-sd15",
                "x",
                width=64,
                height=64,
                num_inference_steps=2,
                ip_adapter_images=(Image.new("RGB", (32, 32), "white"),),
            )
        )
    with pytest.raises(ModelLoadError, match="does not fit this model"):
        mismatched.generate(GenerationRequest(**{**plain.__dict__, "concepts": (Concept("xl-lora-on-sd15", 1.0),)}))
    after = mismatched.generate(plain).images[0].image
    assert after.tobytes() == engine.generate(plain).images[0].image.tobytes()


def test_per_block_scales_multiply_the_request_scale(tmp_path: Path, registry: Registry, engine: Engine) -> None:
    """`blocks` with InstantStyle's style block equals `instantstyle`; all-zero multipliers equal no adapter."""
    sdxl = registry.get("tiny-sdxl")
    style = sdxl.ip_adapters[IpAdapterType.STYLE]
    local = Registry(tmp_path / "models.yaml")
    for model_id, blocks in (("as-instantstyle", {"up": {"block_0": [0, 1, 0]}}), ("zeros", {"up": {"block_0": 0}})):
        ip_set = style.model_copy(update={"scale_mode": "blocks", "scale_blocks": blocks})
        local.add(sdxl.model_copy(update={"id": model_id, "ip_adapters": {IpAdapterType.STYLE: ip_set}}))
    custom = Engine(local, Settings(data_dir=tmp_path))

    def run(eng: Engine, model_id: str, mode: Mode = Mode.TXT2IMG_IP_ADAPTER) -> bytes:
        request = GenerationRequest(
            mode,
            model_id,
            "x",
            width=512,
            height=512,
            num_inference_steps=1,
            seed=5,
            ip_adapter_images=(Image.new("RGB", (32, 32), "red"),) if mode.uses_ip_adapter else (),
            ip_adapter_scales=(0.8,) if mode.uses_ip_adapter else (),
        )
        return eng.generate(request).images[0].image.tobytes()

    assert run(custom, "as-instantstyle") == run(engine, "tiny-sdxl")
    assert run(custom, "zeros") == run(engine, "tiny-sdxl", Mode.TXT2IMG)
    assert run(custom, "zeros") != run(custom, "as-instantstyle")


def test_scale_blocks_go_with_the_blocks_mode() -> None:
    with pytest.raises(ValueError, match="scale_blocks is given exactly when scale_mode is 'blocks'"):
        IpAdapterSet(weights="/w.safetensors", image_encoder="/enc", scale_mode="blocks")
    with pytest.raises(ValueError, match="scale_blocks is given exactly when"):
        IpAdapterSet(weights="/w.safetensors", image_encoder="/enc", scale_blocks={"up": {"block_0": [0, 1, 0]}})
