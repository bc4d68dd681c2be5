"""The training stages' order and what each needs, and a runner that puts independent stages side by side, each in
its own process (one thread each: on a small CPU that is far faster than one process with several threads)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

STAGES = ("vae", "decoder", "base", "refine", "polish", "inpaint", "clip", "ip", "lora", "export")
NEEDS: dict[str, tuple[str, ...]] = {
    "vae": (),
    "decoder": ("vae",),
    "base": ("vae",),
    "refine": ("base",),
    "polish": ("refine",),
    "inpaint": ("polish",),
    "clip": ("polish",),
    "ip": ("clip",),
    "lora": ("polish",),
    "export": ("decoder", "inpaint", "ip", "lora"),
}


def ready(pending: Sequence[str], done: set[str], chosen: set[str]) -> list[str]:
    """Pending stages whose needs are done or were not asked for (their weights are already in the work folder)."""
    return [s for s in pending if all(n in done or n not in chosen for n in NEEDS[s])]


def side_by_side(stages: Sequence[str], jobs: int, argv: Sequence[str]) -> None:
    """Run `stages` (in STAGES order) as `python -m diffuserve.demo_shapes.train <argv> --stages <one>`, at most
    `jobs` at once, each as soon as what it needs is done. Raises CalledProcessError when a stage fails (the
    stages already running finish first)."""
    pending = [s for s in STAGES if s in stages]
    chosen, done = set(pending), set[str]()
    running: dict[Future[subprocess.CompletedProcess[bytes]], str] = {}
    command = [sys.executable, "-m", "diffuserve.demo_shapes.train", *argv]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for stage in ready(pending, done, chosen)[: jobs - len(running)]:
                pending.remove(stage)
                running[pool.submit(subprocess.run, [*command, "--stages", stage], check=True)] = stage
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stage = running.pop(future)
                future.result()
                done.add(stage)
