"""The CLI: generate writes PNGs with their parameters; bad input exits non-zero with one line (tests/cli has
the rest: progress, file names, option names in errors, models add checks, serve)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from diffuserve.cli import main
from diffuserve.config import Settings
from tests.engine.helpers import center_mask, picture


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, session_settings: Settings, registry: object) -> Settings:
    """The CLI reads the same data folder (registry + demo models) as the engine fixtures."""
    monkeypatch.setenv("DIFFUSERVE_DATA_DIR", str(session_settings.data_dir))
    monkeypatch.setenv("DIFFUSERVE_DEMO_MODELS_DIR", str(session_settings.resolved_demo_models_dir))
    return session_settings


def test_generate_writes_one_png_per_image_with_seed_and_parameters(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, mask = tmp_path / "in.png", tmp_path / "mask.png"
    picture(64).save(image)
    center_mask(64).save(mask)
    code = main(
        [
            "generate",
            "inpaint",
            "--model",
            "tiny-sd15",
            "--prompt",
            "a boat",
            "--image",
            str(image),
            "--mask",
            str(mask),
            "--num-samples",
            "2",
            "--steps",
            "2",
            "--seed",
            "7",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written] == ["inpaint-7.png", "inpaint-8.png"]
    with Image.open(written[1]) as png:
        assert png.size == (64, 64)
        assert png.text["seed"] == "8"
        assert png.text["parameters"].startswith("a boat\nSteps: 2, ")  # A1111's infotext
        params = json.loads(png.text["diffuserve"])
    assert params["prompt"] == "a boat" and params["numInferenceSteps"] == 2 and params["mode"] == "inpaint"


def test_generate_with_ip_adapter_and_concept(cli_env: Settings, tmp_path: Path) -> None:
    ref = tmp_path / "ref.png"
    picture(32).save(ref)
    code = main(
        [
            "generate",
            "txt2img-ip-adapter",
            "--model",
            "tiny-sd15",
            "--prompt",
            "x",
            "--ip-image",
            str(ref),
            "--ip-scale",
            "0.5",
            "--ip-type",
            "character",
            "--concept",
            "tiny-sd15-lora:0.7",
            "--steps",
            "1",
            "--width",
            "64",
            "--height",
            "64",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    assert (tmp_path / "o" / "txt2img-ip-adapter-3.png").is_file()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--width", "70"], "width must be a multiple of 8"),
        (["--image", "/no/such.png"], "--image /no/such.png: no such file"),
        (["--seed", "abc"], "--seed 'abc': expected a whole number"),
        (["--concept", ":0.5"], "expected MODEL_ID or MODEL_ID:SCALE"),
        (["--model", "ghost"], "model 'ghost' does not exist"),
    ],
)
def test_bad_input_prints_one_line_and_exits_non_zero(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    base = [
        "generate",
        "txt2img",
        "--model",
        "tiny-sd15",
        "--prompt",
        "x",
        "--steps",
        "1",
        "--out",
        str(tmp_path),
    ]
    code = main(base + args)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_models_add_show_list_remove(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(cli_env.resolved_demo_models_dir / "tiny-sd15")
    assert main(["models", "add", "my-sd15", "--type", "sd-1_5", "--folder", folder, "--name", "Mine"]) == 0
    assert "added my-sd15 (sd-1_5): txt2img, img2img, inpaint" in capsys.readouterr().out
    assert main(["models", "show", "my-sd15"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["path"] == folder
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "my-sd15\tsd-1_5" in listed and "tiny-sdxl\tsd-xl" in listed
    assert main(["models", "remove", "my-sd15"]) == 0
    assert main(["models", "show", "my-sd15"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_installed_console_script_runs(cli_env: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "diffuserve.cli", "models", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "tiny-sd15" in done.stdout


def test_models_add_with_per_block_style_scales(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    root = cli_env.resolved_demo_models_dir
    common = [
        "models",
        "add",
        "blocky",
        "--type",
        "sd-xl",
        "--folder",
        str(root / "tiny-sdxl"),
        "--ip-style",
        str(root / "tiny-ip-adapter/sdxl_models/ip-adapter-plus_sdxl_vit-h.safetensors"),
        "--ip-style-encoder",
        str(root / "tiny-ip-adapter/models/image_encoder"),
    ]
    assert main([*common, "--ip-style-blocks", "{not json"]) == 2
    assert "--ip-style-blocks: not valid JSON" in capsys.readouterr().err
    assert main([*common, "--ip-style-blocks", '{"up": {"block_0": [0, 1, 0]}, "down": {"block_2": [0, 1]}}']) == 0
    assert "txt2img_ip_adapter" in capsys.readouterr().out
    assert main(["models", "show", "blocky"]) == 0
    style = json.loads(capsys.readouterr().out)["ip_adapters"]["style"]
    assert style["scale_mode"] == "blocks" and style["scale_blocks"]["down"] == {"block_2": [0.0, 1.0]}
    assert main(["models", "remove", "blocky"]) == 0


def test_generate_and_register_flux(cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flux"
    args = ["generate", "txt2img", "--model", "tiny-flux-lora", "--prompt", "a fox", "--steps", "2", "--seed", "3"]
    args += ["--width", "128", "--height", "128", "--model-epoch", "000001", "--base-model", "tiny-flux"]
    args += ["--negative-prompt", "fog", "--negative-prompt-strength", "1.5", "--out", str(out)]
    assert main(args) == 0
    written = capsys.readouterr().out.split()
    with Image.open(written[0]) as png:
        params = json.loads(png.text["diffuserve"])
    assert params["modelType"] == "flux.1" and params["negativePromptStrength"] == 1.5
    assert params["concepts"] == [{"modelId": "tiny-flux-lora", "scale": 1.0, "modelEpoch": "000001"}]
    lora = str(Path(cli_env.resolved_demo_models_dir) / "tiny-flux-lora")
    add = ["models", "add", "cli-flux-lora", "--type", "flux.1-lora", "--compliant", "tiny-flux"]
    add += ["--epoch", f"000001={lora}/epoch-000001.safetensors", "--epoch", f"000002={lora}/epoch-000002.safetensors"]
    assert main(add) == 0
    composition = ["models", "add", "cli-flux-look", "--type", "flux.1-composition", "--compliant", "tiny-flux"]
    assert main([*composition, "--concept", "cli-flux-lora:0.5@000001"]) == 0
    capsys.readouterr()
    assert main(["models", "show", "cli-flux-look"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["concepts"] == [{"model_id": "cli-flux-lora", "scale": 0.5, "model_epoch": "000001"}]
    for model_id in ("cli-flux-look", "cli-flux-lora"):
        assert main(["models", "remove", model_id]) == 0


FLUX_MODES = [("tiny-flux", m) for m in ("txt2img", "img2img", "inpaint", "txt2img-ip-adapter")] + [
    ("tiny-flux2", m) for m in ("txt2img", "img2img", "txt2img-ip-adapter", "img2img-ip-adapter")
]


@pytest.mark.parametrize(("model", "mode"), FLUX_MODES)
def test_the_cli_runs_both_flux_families(cli_env: Settings, tmp_path: Path, model: str, mode: str) -> None:
    """FLUX.1 and FLUX.2 modes through `diffuserve generate` (FLUX.2's -ip-adapter modes: multi-reference editing
    with two references, an input image first where the mode has one)."""
    image, mask, ref1, ref2 = (tmp_path / f"{n}.png" for n in ("image", "mask", "ref1", "ref2"))
    picture(128).save(image)
    center_mask(128).save(mask)
    picture(64, seed=3).save(ref1)
    picture(64, seed=4).save(ref2)
    args = ["generate", mode, "--model", model, "--prompt", "a fox", "--steps", "2", "--seed", "9"]
    args += ["--width", "128", "--height", "128", "--out", str(tmp_path / "o")]
    if mode.startswith(("img2img", "inpaint")):
        args += ["--image", str(image)]
    if mode.startswith("inpaint"):
        args += ["--mask", str(mask)]
    if mode.endswith("ip-adapter"):
        args += ["--ip-image", str(ref1), "--ip-image", str(ref2)]
        if model == "tiny-flux":
            args += ["--ip-scale", "0.5", "--ip-scale", "0.5"]
    assert main(args) == 0
    with Image.open(tmp_path / "o" / f"{mode}-9.png") as png:
        assert png.size == (128, 128)
        params = json.loads(png.text["diffuserve"])
    assert params["modelId"] == model and params["mode"] == mode
