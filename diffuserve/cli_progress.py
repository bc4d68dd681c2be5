"""What `diffuserve generate` says while it works, on stderr: stages (starting the engine, loading the model), then
denoising progress with steps, batches and ETA — a bar redrawn in place on a terminal, a line every 10 % otherwise.
stdout stays for the paths of the written files."""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from PIL import Image

    from diffuserve.catalog.types import Callbacks, Progress

Style = Literal["bar", "lines", "none"]
_REDRAW_S = 0.1


def pick_style(choice: str, stream: TextIO) -> Style:
    """`auto`: a bar on a terminal, lines when stderr goes to a file or a pipe."""
    if choice == "auto":
        return "bar" if stream.isatty() and os.environ.get("TERM") != "dumb" else "lines"
    return choice  # type: ignore[return-value]


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`."""
    s = max(0, math.ceil(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class GenerateProgress:
    """Reports one generate run; `callbacks()` plugs it into the engine."""

    def __init__(self, stream: TextIO, style: Style, *, batches: int = 1, preview: Path | None = None) -> None:
        self.stream = stream
        self.style = style
        self.batches = max(1, batches)  # pipeline calls the images take (set once the request is known)
        self.preview = preview
        self.started = time.monotonic()
        self._stage_at = self.started
        self._first: tuple[float, int] | None = None  # (when, steps done) at the first step
        self._drawn = 0.0
        self._bar_shown = False
        self._tenths = -1
        self._batch = 0

    # -- stages --

    def stage(self, text: str) -> None:
        """A line of its own, e.g. `loading model tiny-sd15`."""
        if self.style == "none":
            return
        self._clear_bar()
        self.stream.write(f"{text}\n")
        self.stream.flush()
        self._stage_at = time.monotonic()

    def since_stage(self) -> float:
        return time.monotonic() - self._stage_at

    # -- engine callbacks --

    def callbacks(self, *, model_id: str) -> Callbacks:
        from diffuserve.catalog.types import Callbacks

        def on_loading() -> None:
            self.stage(f"loading model {model_id} (its first use in this process reads the weights)")

        return Callbacks(on_loading=on_loading, on_progress=self.on_progress, on_preview=self.on_preview)

    def on_progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first = (now, progress.done)
            self.stage(f"denoising: {progress.total} steps in {self.batches} batch(es), ready after {self._ready()}")
        per_batch = max(1, progress.total // self.batches)
        batch = min(self.batches, (progress.done - 1) // per_batch + 1)
        eta = self._eta(now, progress.done, progress.total)
        if self.style == "bar":
            if progress.done == progress.total or now - self._drawn >= _REDRAW_S:
                self._draw_bar(progress.done, progress.total, batch, eta)
                self._drawn = now
        elif self.style == "lines":
            tenths = 10 * progress.done // progress.total
            if tenths > self._tenths or batch != self._batch:
                self._tenths, self._batch = tenths, batch
                self.stream.write(
                    f"step {progress.done}/{progress.total} ({round(100 * progress.fraction)}%), "
                    f"batch {batch}/{self.batches}, {eta}\n"
                )
                self.stream.flush()

    def on_preview(self, images: list[Image.Image]) -> None:
        if self.preview is None or not images:
            return
        from PIL import Image

        sheet = Image.new("RGB", (sum(im.width for im in images), max(im.height for im in images)))
        x = 0
        for im in images:
            sheet.paste(im.convert("RGB"), (x, 0))
            x += im.width
        tmp = self.preview.with_name(f".{self.preview.name}.tmp")
        sheet.save(tmp, format="PNG")
        tmp.replace(self.preview)  # a viewer never sees half a file

    def end_line(self) -> None:
        """Leaves an unfinished bar on screen and moves to the next line."""
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False

    def done(self, images: int) -> None:
        self.stage(f"{images} image(s) in {duration(time.monotonic() - self.started)}")

    # -- drawing --

    def _ready(self) -> str:
        return duration(time.monotonic() - self.started)

    def _eta(self, now: float, done: int, total: int) -> str:
        assert self._first is not None
        when, first_done = self._first
        if done >= total:
            return "done"
        if done - first_done < 1 or now <= when:
            return "ETA --"
        rate = (done - first_done) / (now - when)
        return f"ETA {duration((total - done) / rate)}"

    def _draw_bar(self, done: int, total: int, batch: int, eta: str) -> None:
        width = shutil.get_terminal_size((80, 20)).columns
        tail = f" {done}/{total} steps · batch {batch}/{self.batches} · {eta}"
        room = max(10, width - len(tail) - 8)
        filled = room * done // total
        full, empty = ("█", "░") if (getattr(self.stream, "encoding", None) or "").lower().startswith("utf") else "#-"
        bar = full * filled + empty * (room - filled)
        self.stream.write(f"\r{round(100 * done / total):3d}% {bar}{tail}\x1b[K")
        self._bar_shown = done < total  # the finished bar stays on screen
        if not self._bar_shown:
            self.stream.write("\n")
        self.stream.flush()

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\x1b[K")
            self._bar_shown = False
