"""Margins of the demo-shapes semantic checks over many seeds: `python bench/demo_shapes.py [--seeds N]`.

Runs each check of tests/demo_shapes/test_semantics.py through the real engine on N seeds (default 48, from
1000, the tests' first seed) and prints, per check, the share of seeds that pass and the tests' threshold.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import IpAdapterType
from diffuserve.config import Settings
from diffuserve.demo_shapes import evaluate as ev
from diffuserve.demo_shapes.catalog import WEIGHTS, demo_shapes_specs
from diffuserve.engine.engine import Engine


def _engine(data: Path, weights: Path = WEIGHTS) -> Engine:
    settings = Settings(data_dir=data, demo_models=False, max_batch_images=8)
    registry = Registry(settings.resolved_registry_path)
    for spec in demo_shapes_specs(weights):
        registry.add(spec)
    return Engine(registry, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=48)
    parser.add_argument("--first", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--weights", type=Path, default=WEIGHTS, help="a training run's --out folder (default: the shipped weights)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    s, n = args.first, args.seeds
    figures: dict[str, tuple[float, str]] = {}

    def put(name: str, value: float, threshold: str) -> None:
        figures[name] = (round(value, 3), threshold)
        print(f"{name:58s} {value:6.3f}   test: {threshold}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(Path(tmp), args.weights)
        started = time.perf_counter()
        rows = ev.txt2img(engine, s, n)
        put("txt2img red circle/blue: foreground red", ev.share(rows, foreground="red"), ">= 0.75")
        put("txt2img red circle/blue: background blue", ev.share(rows, background="blue"), ">= 0.75")
        put("txt2img red circle/blue: shape circle", ev.share(rows, shape="circle"), "-")
        put(
            "txt2img red circle/blue: all three",
            ev.share(rows, foreground="red", shape="circle", background="blue"),
            ">= 0.5",
        )
        for prompt, fg, shape, bg in (
            ("a yellow star on a black background", "yellow", "star", "black"),
            ("a green square on a white background", "green", "square", "white"),
            ("a blue triangle on a yellow background", "blue", "triangle", "yellow"),
        ):
            rows = ev.txt2img(engine, s, n, prompt)
            put(f"txt2img {fg} {shape}/{bg}: foreground", ev.share(rows, foreground=fg), "-")
            put(f"txt2img {fg} {shape}/{bg}: shape", ev.share(rows, shape=shape), "-")
            put(f"txt2img {fg} {shape}/{bg}: background", ev.share(rows, background=bg), "-")
            put(
                f"txt2img {fg} {shape}/{bg}: all three",
                ev.share(rows, foreground=fg, shape=shape, background=bg),
                ">= 0.75 (star, triangle; not square)",
            )
        low = ev.img2img(engine, s, n, 0.2)
        put(
            "img2img 0.2 keeps green square on white",
            ev.share(low, foreground="green", shape="square", background="white"),
            ">= 0.75",
        )
        high = ev.img2img(engine, s, n, 0.9)
        put("img2img 0.9 foreground red", ev.share(high, foreground="red"), "-")
        put("img2img 0.9 background blue", ev.share(high, background="blue"), "-")
        put("img2img 0.9 red on blue", ev.share(high, foreground="red", background="blue"), ">= 0.75")
        for merging in (False, True):
            rows = ev.inpaint(engine, s, n, disable_merging=merging)
            tag = "disableMerging" if merging else "merging"
            put(
                f"inpaint {tag}: red in mask > 0.15",
                float(np.mean([r.extra["red_in_mask"] > 0.15 for r in rows])),
                ">= 0.75",
            )
            put(
                f"inpaint {tag}: median red share in mask",
                float(np.median([r.extra["red_in_mask"] for r in rows])),
                "-",
            )
            put(
                f"inpaint {tag}: green in mask < 0.05",
                float(np.mean([r.extra["green_in_mask"] < 0.05 for r in rows])),
                ">= 0.75",
            )
            put(
                f"inpaint {tag}: outside mean diff < 12",
                float(np.mean([r.extra["outside_mean_diff"] < 12 for r in rows])),
                ">= 0.75 (disableMerging)",
            )
            put(
                f"inpaint {tag}: median outside mean diff",
                float(np.median([r.extra["outside_mean_diff"] for r in rows])),
                "< 8 (disableMerging)",
            )
            put(f"inpaint {tag}: max outside mean diff", max(r.extra["outside_mean_diff"] for r in rows), "-")
            put(
                f"inpaint {tag}: max outside max diff", max(r.extra["outside_max_diff"] for r in rows), "== 0 (merging)"
            )
        for scale in (1.0, 0.0):
            rows = ev.ip_adapter(engine, s, n, IpAdapterType.STYLE, scale)
            put(
                f"ip style {scale} '{ev.STYLE_PROMPT}': foreground yellow (reference)",
                ev.share(rows, foreground="yellow"),
                ">= 0.75 at 1, <= 0.25 at 0",
            )
            put(
                f"ip style {scale} '{ev.STYLE_PROMPT}': background black (reference)",
                ev.share(rows, background="black"),
                "-",
            )
            put(
                f"ip style {scale} '{ev.STYLE_PROMPT}': shape circle (prompt)",
                ev.share(rows, shape="circle"),
                ">= 0.75",
            )
            rows = ev.ip_adapter(engine, s, n, IpAdapterType.CHARACTER, scale)
            put(
                f"ip character {scale} '{ev.CHARACTER_PROMPT}': shape star (reference)",
                ev.share(rows, shape="star"),
                ">= 0.6 at 1, <= 0.25 at 0",
            )
            put(
                f"ip character {scale} '{ev.CHARACTER_PROMPT}': red on blue (prompt)",
                ev.share(rows, foreground="red", background="blue"),
                ">= 0.75",
            )
            # Against a prompt that names what the reference brings ("a red circle on a blue background").
            rows = ev.ip_adapter(engine, s, n, IpAdapterType.STYLE, scale, ev.PROMPT)
            put(f"ip style {scale} '{ev.PROMPT}': foreground yellow", ev.share(rows, foreground="yellow"), "-")
            put(f"ip style {scale} '{ev.PROMPT}': foreground red", ev.share(rows, foreground="red"), ">= 0.75 at 0")
            rows = ev.ip_adapter(engine, s, n, IpAdapterType.CHARACTER, scale, ev.PROMPT)
            put(f"ip character {scale} '{ev.PROMPT}': shape star", ev.share(rows, shape="star"), "-")
            put(
                f"ip character {scale} '{ev.PROMPT}': red on blue",
                ev.share(rows, foreground="red", background="blue"),
                ">= 0.75 at 0",
            )
        for scale in (1.0, 0.0):
            rows = ev.lora(engine, s, n, scale)
            put(
                f"lora {scale}: median fill",
                float(np.median([r.detection.fill for r in rows])),
                "< 0.8 at 1, > 0.95 at 0",
            )
            put(f"lora {scale}: share with fill < 0.8", float(np.mean([r.detection.fill < 0.8 for r in rows])), "-")
        rows = ev.lora(engine, s, n, None)
        put("no lora: median fill", float(np.median([r.detection.fill for r in rows])), "-")
        plain = ev.txt2img(engine, s, n, "a circle")
        negative = ev.txt2img(engine, s, n, "a circle", negative_prompt="red")
        put("'a circle': red share", ev.share(plain, foreground="red"), "-")
        put("'a circle' negative 'red': red share", ev.share(negative, foreground="red"), "<= 1/16 and <= plain")
        told = ev.txt2img(engine, s, n, "a red circle")
        told_not = ev.txt2img(engine, s, n, "a red circle", negative_prompt="red")
        put("'a red circle': red share", ev.share(told, foreground="red"), "-")
        put("'a red circle' negative 'red': red share", ev.share(told_not, foreground="red"), "< plain")
        print(f"seeds={n} first={s} seconds={time.perf_counter() - started:.0f}")
    if args.json:
        args.json.write_text(json.dumps({"seeds": n, "first": s, "figures": figures}, indent=2))


if __name__ == "__main__":
    main()
