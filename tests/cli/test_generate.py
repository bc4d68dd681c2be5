"""`diffuserve generate` shows its work: stages, per-step progress with batches and ETA (a bar on a terminal,
lines otherwise), the written paths on stdout; it never overwrites earlier images; its PNGs carry A1111's
infotext; scheduler aliases and `--concept ID` work."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from PIL import Image

from tests.a1111 import parse_generation_parameters
from tests.cli.conftest import REPO, Cli

FAST = ["--model", "tiny-sd15", "--prompt", "a lighthouse, at dusk", "--width", "64", "--height", "64", "--steps", "3"]


def test_piped_output_is_paths_on_stdout_and_progress_lines_on_stderr_and_files_are_never_overwritten(
    cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["generate", "txt2img", *FAST, "--num-samples", "2", "--seed", "7", "--out", str(out)]
    first = cli.run(*args, "--scheduler", "euler_a", "--concept", "tiny-sd15-lora")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [str(out / "txt2img-7.png"), str(out / "txt2img-8.png")]
    err = first.stderr
    for expected in (
        "txt2img on tiny-sd15: 2 image(s) 64x64, 3 steps, EulerAncestralDiscreteScheduler, seed 7",
        "starting the engine (importing torch and diffusers)",
        "loading model tiny-sd15",
        "denoising: 6 steps in 2 batch(es)",
        "step 3/6 (50%), batch 1/2, ETA",
        "step 6/6 (100%), batch 2/2, done",
        "2 image(s) in ",
    ):
        assert expected in err, (expected, err)
    assert "\r" not in err and " INFO " not in err, err  # lines, not a bar; no log chatter
    with Image.open(out / "txt2img-8.png") as png:
        parsed = parse_generation_parameters(png.text["parameters"])  # type: ignore[attr-defined]
    assert parsed["Prompt"] == "a lighthouse, at dusk <lora:tiny-sd15-lora:1>"
    assert parsed["Sampler"] == "Euler a" and parsed["Seed"] == "8" and parsed["Steps"] == "3"
    before = (out / "txt2img-7.png").read_bytes()

    again = cli.run(*args)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [str(out / "txt2img-7-2.png"), str(out / "txt2img-8-2.png")]
    assert (out / "txt2img-7.png").read_bytes() == before

    replaced = cli.run(*args, "--overwrite", "--quiet")
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.splitlines() == [str(out / "txt2img-7.png"), str(out / "txt2img-8.png")]
    assert replaced.stderr == ""
    assert (out / "txt2img-7.png").read_bytes() != before  # no LoRA, another scheduler: another image
    assert sorted(p.name for p in out.iterdir()) == [
        "txt2img-7-2.png",
        "txt2img-7.png",
        "txt2img-8-2.png",
        "txt2img-8.png",
    ]


def _run_on_a_terminal(cli: Cli, *args: str, timeout: float = 300) -> tuple[int, str, str]:
    """The command with stderr on a pseudo-terminal (stdout piped); (exit status, stdout, terminal output)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        cli.command(*args),
        cwd=REPO,
        env={**cli.env, "TERM": "xterm", "LC_ALL": "C.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    return process.wait(timeout=30), stdout, seen.decode(errors="replace")


def test_a_terminal_gets_a_bar_redrawn_in_place_and_previews_go_to_a_file(cli: Cli, tmp_path: Path) -> None:
    preview = tmp_path / "preview.png"
    args = [
        "generate",
        "txt2img",
        *FAST,
        "--steps",
        "12",
        "--scheduler",
        "euler",
        "--seed",
        "3",
        "--out",
        str(tmp_path / "o"),
    ]
    code, stdout, terminal = _run_on_a_terminal(cli, *args, "--preview", str(preview))
    assert code == 0, terminal
    assert stdout.splitlines() == [str(tmp_path / "o" / "txt2img-3.png")]
    assert "\r100% " in terminal and "█" in terminal and "12/12 steps · batch 1/1 · done" in terminal
    assert "ETA" in terminal and "step 6/12" not in terminal  # a bar, not lines
    assert "loading model tiny-sd15" in terminal and "1 image(s) in " in terminal
    with Image.open(preview) as image:  # the latest low-resolution preview (1/8 size)
        assert image.size == (8, 8)
