"""`diffuserve models add` checks what it registers: a missing folder, a pipeline of another family, a
4-channel "inpainting" variant, a LoRA folder without weights, an unreadable checkpoint or IP-Adapter are
refused with one line naming the option, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffuserve.cli import main


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_root: Path, registry: object) -> Path:
    """A data folder of its own (so refusals can be checked against its registry), with the built demo models."""
    monkeypatch.setenv("DIFFUSERVE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIFFUSERVE_DEMO_MODELS_DIR", str(demo_root))
    return demo_root


def _refused(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["models", "add", "mine", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert main(["models", "show", "mine"]) == 2  # nothing was registered
    capsys.readouterr()


def test_missing_or_wrong_files_are_refused_before_anything_is_registered(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = cli_env
    garbage = tmp_path / "broken.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    ip = root / "tiny-ip-adapter/models"
    _refused(capsys, ["--type", "sd-1_5", "--folder", "/nonexistent"], "--folder /nonexistent: no such folder")
    _refused(
        capsys,
        ["--type", "sd-xl", "--folder", str(root / "tiny-sd15")],
        "holds a StableDiffusionPipeline pipeline; a sdxl model is one of StableDiffusionXLPipeline",
    )
    _refused(capsys, ["--type", "sd-1_5", "--folder", str(garbage)], "is a file, expected a diffusers folder")
    _refused(
        capsys,
        ["--type", "sd-1_5", "--folder", str(root / "tiny-sd15"), "--inpaint-folder", str(root / "tiny-sd15")],
        "--inpaint-folder "
        + str(root / "tiny-sd15")
        + ": its UNet takes 4 input channels; an inpainting variant takes 9",
    )
    _refused(capsys, ["--type", "sd-1_5-lora", "--folder", str(root / "tiny-sd15")], "pytorch_lora_weights")
    _refused(capsys, ["--type", "sd-1_5", "--file", str(garbage)], "not a readable .safetensors file")
    _refused(capsys, ["--type", "sd-1_5", "--file", str(tmp_path / "no.safetensors")], "no such file")
    _refused(
        capsys,
        ["--type", "sd-1_5", "--file", str(root / "tiny-sd15-file.safetensors"), "--config", "/no/configs"],
        "--config /no/configs: no such folder",
    )
    folder = ["--type", "sd-1_5", "--folder", str(root / "tiny-sd15")]
    _refused(
        capsys,
        [*folder, "--ip-style", str(ip / "missing.safetensors"), "--ip-style-encoder", str(ip / "image_encoder")],
        "--ip-style",
    )
    _refused(
        capsys,
        [*folder, "--ip-style", str(ip / "ip-adapter_sd15.safetensors"), "--ip-style-encoder", str(tmp_path)],
        "not an image encoder folder (no config.json)",
    )


def test_checked_files_are_registered(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = cli_env
    ip = root / "tiny-ip-adapter/models"
    args = [
        "--type",
        "sd-1_5",
        "--folder",
        str(root / "tiny-sd15"),
        "--inpaint-folder",
        str(root / "tiny-sd15-inpaint"),
        "--ip-style",
        str(ip / "ip-adapter_sd15.safetensors"),
        "--ip-style-encoder",
        str(ip / "image_encoder"),
    ]
    assert main(["models", "add", "mine", *args]) == 0
    assert (
        main(["models", "add", "mine-file", "--type", "sd-1_5", "--file", str(root / "tiny-sd15-file.safetensors")])
        == 0
    )
    assert main(["models", "add", "lora", "--type", "sd-1_5-lora", "--folder", str(root / "tiny-sd15-lora")]) == 0
    assert main(["models", "add", "hub", "--type", "sd-xl", "--hub", "someone/some-model"]) == 0  # not checked
    out = capsys.readouterr().out
    assert "added mine (sd-1_5): txt2img, img2img, inpaint, txt2img_ip_adapter" in out
    assert "added lora (sd-1_5-lora)" in out and "added hub (sd-xl)" in out


def test_models_add_checks_the_type_and_lists_the_types_in_its_help(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["models", "add", "--help"])
    assert "sd-1_5, sd-xl" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        main(["models", "add", "x", "--type", "sd-3", "--hub", "a/b"])
    assert exited.value.code == 2
    assert "invalid choice: 'sd-3' (choose from 'sd-1_5', 'sd-xl'" in capsys.readouterr().err
