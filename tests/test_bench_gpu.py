"""bench/gpu.py keeps working: its --tiny CPU mode runs every model, variant and batch size and prints the figures,
then the same through a `diffuserve serve` subprocess serving the saved pipeline to concurrent clients."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(
    r"^(?P<variant>eager|compiled)\s+(?P<batch>\d+)\s+(?P<first>[\d.]+)\s+(?P<seconds>[\d.]+)\s+"
    r"(?P<images_per_s>[\d.]+)\s+(?P<it_per_s>[\d.]+)\s+(?P<tflops>[\d.]+)\s+(?P<mfu>[\d.e+-]+)%$"
)
SERVICE_SETUP = re.compile(
    r"^service: 4 clients x 1 round\(s\) of 1 image at (?P<size>\d+)x(?P=size) after a warm-up batch, "
    r"DIFFUSERVE_MAX_BATCH_IMAGES=2, "
)
SERVICE_FIGURES = re.compile(
    r"^service: (?P<images_per_s>[\d.]+) images/s \((?P<images>\d+) images in [\d.]+ s; warm-up batch [\d.]+ s, "
    r"loads the model\), latency p50 (?P<p50>[\d.]+) s, p95 (?P<p95>[\d.]+) s, mean batch (?P<batch>[\d.]+|n/a), "
    r"(?P<tflops>[\d.]+) TFLOP/s, MFU (?P<mfu>[\d.e+-]+)%$"
)
SERVICE_RATIO = re.compile(r"^service: images/s service / bare eager at batch 2: (?P<ratio>[\d.]+x \(|n/a \()")


def test_tiny_mode_prints_images_per_second_and_mfu_for_every_row() -> None:
    out = subprocess.run(
        [sys.executable, "bench/gpu.py", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    sections = out.stdout.split("\n\n")
    assert "peak 989 TFLOP/s" in sections[0]
    assert [s.split(" ", 1)[0] for s in sections[1:]] == ["sd15", "sdxl", "flux1"]
    for section in sections[1:]:
        title, header, *lines = section.strip().splitlines()
        rows = [line for line in lines if not line.startswith("service:")]
        service = [line for line in lines if line.startswith("service:")]
        assert "64x64, 2 steps" in title
        assert re.search(r"FLOPs per image: [\d.e-]+ TFLOP measured", title)
        assert header.split() == ["variant", "batch", "first", "s", "s/batch", "images/s", "it/s", "TFLOP/s", "MFU"]
        figures = [ROW.match(row) for row in rows]
        assert all(figures), rows
        assert [(m["variant"], int(m["batch"])) for m in figures if m] == [
            ("eager", 1),
            ("eager", 2),
            ("compiled", 1),
            ("compiled", 2),
        ]
        for m in filter(None, figures):
            assert float(m["images_per_s"]) > 0
            assert 0 < float(m["mfu"]) < 100
        assert len(service) == 3, service  # no "did not succeed" lines
        setup, figures_line, ratio_line = service
        size = SERVICE_SETUP.match(setup)
        assert size, setup
        # SDXL and FLUX go through the service at their smallest sizes, so they have no bare row to compare with.
        assert int(size["size"]) == {"sd15": 64, "sdxl": 512, "flux1": 128}[title.split(" ", 1)[0]]
        served = SERVICE_FIGURES.match(figures_line)
        assert served, figures_line
        assert int(served["images"]) == 4
        assert float(served["images_per_s"]) > 0
        assert 0 < float(served["p50"]) <= float(served["p95"])
        assert 0 < float(served["mfu"]) < 100
        ratio = SERVICE_RATIO.match(ratio_line)
        assert ratio, ratio_line
        assert ratio["ratio"].endswith("x (") == title.startswith("sd15")
