"""Cross-request batching: throughput of many one-image txt2img requests, with the worker's batch cap at 1 and at 8.

For each cap the service runs as its own `diffuserve serve` process (open mode, a fresh temporary data folder,
DIFFUSERVE_MAX_BATCH_IMAGES=<cap>, DIFFUSERVE_BATCH_WINDOW_MS=--window-ms; torch threads as the server picks).
--clients threads each loop: submit one image (numSamples 1), poll its job every 0.05 s until success or failure,
record the latency; one warm-up round (it loads the model), then --rounds timed rounds per client.
Prints images/s, p50 and p95 latency and, where the server reports it, the mean batch size for each cap; then
the throughput ratio cap 8 / cap 1 beside its target (>= 2.5x). Not a test: nothing is asserted.

    python bench/batching.py [--rounds 3] [--clients 16] [--steps 4] [--size 64] [--window-ms 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from _serve import POLL_S, Outcome, client_limits, percentile, run_clients, serve

CAPS = (1, 8)
TARGET_RATIO = 2.5


@dataclass
class Figures:
    cap: int
    images: int
    wall_s: float
    outcome: Outcome

    @property
    def images_per_s(self) -> float:
        return self.images / self.wall_s if self.wall_s > 0 else 0.0


def measure(cap: int, args: argparse.Namespace) -> Figures:
    env = {"DIFFUSERVE_MAX_BATCH_IMAGES": str(cap), "DIFFUSERVE_BATCH_WINDOW_MS": str(args.window_ms)}
    body = {
        "modelId": "tiny-sd15",
        "prompt": "a bench",
        "numSamples": 1,
        "numInferenceSteps": args.steps,
        "width": args.size,
        "height": args.size,
    }
    with (
        tempfile.TemporaryDirectory(prefix=f"diffuserve-batching-{cap}-") as data_dir,
        serve(Path(data_dir), env) as base_url,
        httpx.Client(base_url=base_url, timeout=300, limits=client_limits(args.clients)) as client,
    ):
        warm_up = run_clients(client, body, args.clients, 1, seed0=0)  # loads the model
        if warm_up.failures:
            print(f"  cap {cap}: warm-up failures: {len(warm_up.failures)} (first: {warm_up.failures[0]})")
        started = time.perf_counter()
        outcome = run_clients(client, body, args.clients, args.rounds, seed0=args.clients)
        wall_s = time.perf_counter() - started
    return Figures(cap, len(outcome.latencies), wall_s, outcome)


def report(figures: Figures) -> None:
    o = figures.outcome
    line = (
        f"DIFFUSERVE_MAX_BATCH_IMAGES={figures.cap}: {figures.images_per_s:6.2f} images/s "
        f"({figures.images} images in {figures.wall_s:.2f} s), "
        f"latency p50 {percentile(o.latencies, 50):.3f} s, p95 {percentile(o.latencies, 95):.3f} s"
    )
    if o.batch_sizes:
        line += f", mean batch {sum(o.batch_sizes) / len(o.batch_sizes):.2f}"
    print(line)
    if o.failures:
        print(f"  {len(o.failures)} job(s) did not succeed (first: {o.failures[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed requests per client, after one warm-up")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--window-ms", type=int, default=20, help="DIFFUSERVE_BATCH_WINDOW_MS for the server")
    args = parser.parse_args()

    print(
        f"txt2img tiny-sd15 {args.size}x{args.size}, {args.steps} steps, 1 image per request, "
        f"{args.clients} clients x {args.rounds} rounds (+1 warm-up), poll every {POLL_S}s, "
        f"batch window {args.window_ms} ms"
    )
    results = {}
    for cap in CAPS:
        results[cap] = measure(cap, args)
        report(results[cap])
    one, eight = results[1].images_per_s, results[8].images_per_s
    ratio = f"{eight / one:.2f}x" if one > 0 else "n/a"
    print(f"throughput ratio images/s(8) / images/s(1): {ratio} (target >= {TARGET_RATIO}x)")


if __name__ == "__main__":
    main()
