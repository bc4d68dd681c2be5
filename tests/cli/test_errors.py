"""Mistakes on the command line get one line naming the CLI's own options (`--steps`, not the API's
`numInferenceSteps`), before torch loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diffuserve.cli import main
from diffuserve.cli_generate import option_message, parse_concept
from diffuserve.config import Settings
from diffuserve.errors import InvalidRequest
from tests.service_helpers import picture

API_NAMES = re.compile(r"numInferenceSteps|numSamples|ipAdapter|imageId|maskId|modelId|concepts\[|negativePrompt")


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, session_settings: Settings, registry: object) -> Settings:
    monkeypatch.setenv("DIFFUSERVE_DATA_DIR", str(session_settings.data_dir))
    monkeypatch.setenv("DIFFUSERVE_DEMO_MODELS_DIR", str(session_settings.resolved_demo_models_dir))
    return session_settings


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ref") / "ref.png"
    picture(64).save(path)
    return str(path)


CASES = [
    ("txt2img", ["--steps", "500"], "--steps must be an integer in [1, 150], got 500"),
    ("txt2img", ["--num-samples", "0"], "--num-samples must be an integer in [1, 128], got 0"),
    ("txt2img", ["--guidance", "30"], "--guidance must be a number in [0, 20], got 30"),
    ("txt2img", ["--width", "70"], "--width must be a multiple of 8 in [64, 1024] for sd-1_5 models, got 70"),
    ("txt2img", ["--seed", "-1"], "--seed must be an integer in [0, "),
    ("txt2img", ["--prompt", " "], "--prompt must not be empty"),
    ("img2img", [], "img2img needs an input image (--image)"),
    ("inpaint", ["--image", "REF"], "inpaint needs a mask (--mask); white marks what to replace"),
    ("txt2img-ip-adapter", [], "txt2img-ip-adapter needs at least one IP-Adapter image (--ip-image)"),
    ("img2img", ["--image", "REF", "--strength", "2"], "--strength must be a number in [0.01, 1], got 2"),
    ("img2img", ["--image", "REF", "--steps", "2", "--strength", "0.3"], "--steps x --strength must be at least 1"),
    (
        "txt2img-ip-adapter",
        ["--ip-image", "REF", "--ip-scale", "0.5", "--ip-scale", "0.4"],
        "--ip-scale has 2 values but there are 1 IP-Adapter images",
    ),
    ("txt2img-ip-adapter", ["--ip-image", "REF", "--ip-scale", "1.5"], "--ip-scale #1 1.5 must be a number in [0, 1]"),
    ("txt2img", ["--concept", "tiny-sd15-lora:3"], "--concept tiny-sd15-lora:3 scale must be a number in [-2, 2]"),
    ("txt2img", ["--concept", "tiny-sdxl-lora"], "--concept tiny-sdxl-lora model 'tiny-sdxl-lora' does not fit"),
    ("txt2img", ["--concept", "tiny-sd15"], "--concept tiny-sd15 model 'tiny-sd15' is a sd-1_5 model, not a LoRA"),
    (
        "txt2img",
        ["--model", "tiny-sd15-lora", "--concept", "tiny-sd15-lora:0.5"],
        "--concept tiny-sd15-lora:0.5 model 'tiny-sd15-lora' is given twice",
    ),
    (
        "txt2img-ip-adapter",
        ["--model", "tiny-sd15-lora", "--ip-image", "REF"],
        "--model: model 'tiny-sd15-lora' cannot run txt2img_ip_adapter",
    ),
    ("txt2img", ["--scheduler", "nope"], "--scheduler 'nope': unknown; use one of euler, euler_a, dpm++_2m"),
    ("txt2img", ["--concept", ":0.5"], "--concept ':0.5': expected MODEL_ID or MODEL_ID:SCALE"),
    ("txt2img", ["--concept", "x:big"], "--concept 'x:big': scale 'big' is not a number"),
    ("txt2img", ["--model", "ghost"], "model 'ghost' does not exist (`diffuserve models list` shows"),
    ("img2img", ["--image", "/no/such.png"], "--image /no/such.png: no such file"),
]


@pytest.mark.parametrize("mode,args,message", CASES, ids=[c[2][:40] for c in CASES])
def test_errors_name_the_cli_options(
    cli_env: Settings,
    tmp_path: Path,
    ref: str,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    args: list[str],
    message: str,
) -> None:
    base = ["generate", mode, "--model", "tiny-sd15", "--prompt", "x", "--steps", "2", "--out", str(tmp_path)]
    code = main(base + [ref if a == "REF" else a for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("diffuserve: ") and message in err, err
    assert len(err.splitlines()) == 1 and not API_NAMES.search(err), err
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_a_concept_without_a_scale_has_scale_one() -> None:
    assert parse_concept("tiny-sd15-lora").scale == 1.0
    assert parse_concept("tiny-sd15-lora:0.25").scale == 0.25
    assert parse_concept("my:lora:0.5").model_id == "my:lora"


def test_a_message_without_the_field_in_it_gets_the_option_in_front() -> None:
    exc = InvalidRequest("model 'm' has no 'character' IP-Adapter; it has ['style']", field="ipAdapterType")
    assert option_message(exc, ip_scales=[], concepts=[]) == (
        "--ip-type: model 'm' has no 'character' IP-Adapter; it has ['style']"
    )
