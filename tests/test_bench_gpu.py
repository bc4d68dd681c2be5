"""bench/gpu.py keeps working: its --tiny CPU mode runs every model, variant and batch size and prints the figures."""

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


def test_tiny_mode_prints_images_per_second_and_mfu_for_every_row() -> None:
    out = subprocess.run(
        [sys.executable, "bench/gpu.py", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    sections = out.stdout.split("\n\n")
    assert "peak 989 TFLOP/s" in sections[0]
    assert [s.split(" ", 1)[0] for s in sections[1:]] == ["sd15", "sdxl"]
    for section in sections[1:]:
        title, header, *rows = section.strip().splitlines()
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
