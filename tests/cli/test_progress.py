"""How generate's progress reads: a line per 10 % (and per batch) when stderr is not a terminal, a bar redrawn in
place that stays on screen when finished, durations people read at a glance."""

from __future__ import annotations

import io

from diffuserve.catalog.types import Progress
from diffuserve.cli_progress import GenerateProgress, duration, pick_style


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_lines_come_per_tenth_and_per_batch_with_an_eta() -> None:
    out = io.StringIO()
    progress = GenerateProgress(out, "lines", batches=2)
    for done in range(1, 41):
        progress.on_progress(Progress(done=done, total=40))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("denoising: 40 steps in 2 batch(es), ready after ")
    steps = [line.split(" (")[0] for line in lines[1:]]
    assert steps == [f"step {n}/40" for n in (1, 4, 8, 12, 16, 20, 21, 24, 28, 32, 36, 40)]
    assert "batch 2/2" in lines[7] and "batch 1/2" in lines[6]
    assert lines[-1] == "step 40/40 (100%), batch 2/2, done"
    assert all("ETA" in line for line in lines[2:-1])


def test_a_bar_is_redrawn_in_place_and_stays_when_finished() -> None:
    out = Terminal()
    assert pick_style("auto", out) == "bar" and pick_style("auto", io.StringIO()) == "lines"
    progress = GenerateProgress(out, "bar", batches=1)
    for done in range(1, 5):
        progress.on_progress(Progress(done=done, total=4))
    progress.stage("1 image(s) in 2 s")
    text = out.getvalue()
    assert "\r 25% █" in text and text.count("\n") == 3  # the stage line before, the bar, the stage line after
    assert "\r100% " + "█" in text and "4/4 steps · batch 1/1 · done\x1b[K\n1 image(s) in 2 s\n" in text


def test_durations() -> None:
    assert [duration(s) for s in (0.2, 42, 185, 3725)] == ["1 s", "42 s", "3 min 05 s", "1 h 02 min"]
