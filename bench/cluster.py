"""Cluster scaling: images/s with one CPU worker and with two under the same concurrent load, and the API's
GET /v1/jobs/{id} latency while they run.

Each run starts its own cluster on this machine with diffuserve.localcluster.up (PostgreSQL, Redis, moto S3, one
API replica, 1 or 2 CPU workers, each worker limited to one torch thread so that two workers have a core each) in a
fresh temporary folder, and stops it afterwards. Batching stays at its defaults (DIFFUSERVE_MAX_BATCH_IMAGES,
DIFFUSERVE_BATCH_WINDOW_MS); every worker preloads tiny-sd15 (DIFFUSERVE_PRELOAD_MODELS), then warm-up rounds of
one job per client (the load's burst) run until every worker has made an image (at most 3 rounds).
--clients threads each loop --jobs times: submit one txt2img image (numSamples 1), poll its job every --poll
seconds until it ends, record the latency. images/s = successful images / wall time of that timed part.
Meanwhile a poller thread sends GET /v1/jobs/{id} for recent jobs at --get-rate requests/s and records latencies.
Prints, per run: images, seconds, images/s, job latency p50/p95, GET p50/p99, each worker's share (its /metrics) and
the CPU seconds each process used;
then the ratio images/s(2 workers) / images/s(1 worker) beside its target (>= 1.7x). Not a test: nothing is asserted.

    python bench/cluster.py [--clients 8] [--jobs 4] [--size 128] [--steps 8] [--poll 0.1] [--get-rate 20]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _serve import Outcome, percentile

from diffuserve.config import Settings
from diffuserve.localcluster import Cluster, down, up

MODEL = "tiny-sd15"
TARGET_RATIO = 1.7
TERMINAL = {"success", "failure", "canceled"}
WARM_UP_ROUNDS = 3
BATCH = {name: Settings.model_fields[name].default for name in ("max_batch_images", "batch_window_ms")}
RECENT_IDS = 32  # the poller picks among the last job ids submitted


@dataclass
class Figures:
    workers: int
    images: int
    wall_s: float
    outcome: Outcome
    get_latencies: list[float]  # seconds, 200 answers only
    get_errors: int
    per_worker: dict[str, tuple[float, float]]  # name: (images, mean batch) during the timed part
    cpu_s: dict[str, float]  # CPU seconds during the timed part: each cluster process, and this one ("bench")

    @property
    def images_per_s(self) -> float:
        return self.images / self.wall_s if self.wall_s > 0 else 0.0


class Recent:
    """Job ids submitted lately, for the poller (thread-safe, bounded)."""

    def __init__(self) -> None:
        self._ids: collections.deque[str] = collections.deque(maxlen=RECENT_IDS)
        self._lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self._lock:
            self._ids.append(job_id)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._ids)


class Poller(threading.Thread):
    """GET /v1/jobs/{id} at `rate` requests/s over the recent ids, until stopped or `max_s` or `max_requests`."""

    def __init__(self, cluster: Cluster, recent: Recent, rate: float, max_s: float) -> None:
        super().__init__(name="get-poller", daemon=True)
        self.cluster, self.recent, self.rate, self.max_s = cluster, recent, rate, max_s
        self.max_requests = int(rate * max_s) + 1
        self.latencies: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        interval = 1 / self.rate
        deadline = time.monotonic() + self.max_s
        auth = (self.cluster.key, self.cluster.secret)
        with httpx.Client(base_url=self.cluster.api_urls[0], auth=auth, timeout=10) as client:
            for n in range(self.max_requests):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                next_at = time.monotonic() + interval
                ids = self.recent.snapshot()
                if ids:
                    job_id = ids[-1 - n % len(ids)]
                    started = time.perf_counter()
                    try:
                        response = client.get(f"/v1/jobs/{job_id}")
                        if response.status_code == 200:
                            self.latencies.append(time.perf_counter() - started)
                        else:
                            self.errors += 1
                    except httpx.HTTPError:
                        self.errors += 1
                self.stop.wait(max(0.0, next_at - time.monotonic()))


def one_job(client: httpx.Client, body: dict[str, Any], recent: Recent, poll_s: float, timeout_s: float) -> str:
    """Submits one job and polls it until it ends or `timeout_s` passes; returns its status (or why it has none)."""
    response = client.post("/v1/generate/txt2img", json=body)
    if response.status_code != 200:
        return f"submit {response.status_code}: {response.text[:200]}"
    job_id = str(response.json()["job"]["jobId"])
    recent.add(job_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{job_id}")
        if response.status_code == 200:
            job = response.json()["job"]
            if job["status"] in TERMINAL:
                if job["status"] == "success":
                    return "success"
                error = (job.get("metadata") or {}).get("output", {}).get("error", "?")
                return f"{job['status']}: {error}"
        time.sleep(poll_s)
    return f"not done after {timeout_s:.0f}s"


def run_clients(
    cluster: Cluster,
    body: dict[str, Any],
    clients: int,
    jobs: int,
    seed0: int,
    recent: Recent,
    args: argparse.Namespace,
) -> Outcome:
    """`clients` threads, each submitting `jobs` one-image jobs one after the other; seeds are all distinct."""

    def loop(index: int) -> Outcome:
        outcome = Outcome()
        with httpx.Client(base_url=cluster.api_urls[0], auth=(cluster.key, cluster.secret), timeout=30) as client:
            for j in range(jobs):
                started = time.perf_counter()
                try:
                    status = one_job(
                        client, {**body, "seed": seed0 + index * jobs + j}, recent, args.poll, args.job_timeout
                    )
                except httpx.HTTPError as exc:
                    status = f"{type(exc).__name__}: {exc}"
                if status == "success":
                    outcome.latencies.append(time.perf_counter() - started)
                else:
                    outcome.failures.append(status)
        return outcome

    merged = Outcome()
    with ThreadPoolExecutor(clients) as pool:
        for outcome in pool.map(loop, range(clients)):
            merged.latencies += outcome.latencies
            merged.failures += outcome.failures
    return merged


def worker_counts(cluster: Cluster) -> dict[str, tuple[float, float, float]]:
    """Per worker, from its /metrics: (images, batches, images in batches); zeros where it does not answer."""
    counts = {}
    for proc in cluster.workers():
        values = {"images": 0.0, "batches": 0.0, "batch_sum": 0.0}
        try:
            text = httpx.get(f"http://127.0.0.1:{proc.port}/metrics", timeout=5).text
        except httpx.HTTPError:
            text = ""
        for name, key in (
            ("diffuserve_images_total", "images"),
            ("diffuserve_batch_images_count", "batches"),
            ("diffuserve_batch_images_sum", "batch_sum"),
        ):
            found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
            if found:
                values[key] = float(found.group(1))
        counts[proc.name] = (values["images"], values["batches"], values["batch_sum"])
    return counts


def cpu_seconds(cluster: Cluster) -> dict[str, float]:
    """User + system CPU seconds so far of each process the cluster started (from /proc; PostgreSQL's are not
    among them) and of this process."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for name, proc in cluster.procs.items():
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[name] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    times = os.times()
    seconds["bench"] = times.user + times.system
    return seconds


def measure(workers: int, args: argparse.Namespace) -> Figures:
    body = {
        "modelId": MODEL,
        "prompt": "a bench",
        "numSamples": 1,
        "numInferenceSteps": args.steps,
        "width": args.size,
        "height": args.size,
    }
    with tempfile.TemporaryDirectory(prefix=f"diffuserve-bench-cluster-{workers}-") as tmp:
        root = Path(tmp)
        try:
            worker_env = {"DIFFUSERVE_PRELOAD_MODELS": MODEL}
            if args.max_batch_images:
                worker_env["DIFFUSERVE_MAX_BATCH_IMAGES"] = str(args.max_batch_images)
            cluster = up(root, apis=1, workers=workers, worker_env=worker_env)
            recent = Recent()
            for round_ in range(WARM_UP_ROUNDS):  # until every worker has made an image
                warm_up = run_clients(
                    cluster,
                    body,
                    args.clients,
                    1,
                    seed0=10_000 + round_ * args.clients,
                    recent=recent,
                    args=args,
                )
                if warm_up.failures:
                    print(f"  {workers} worker(s): warm-up failures: {len(warm_up.failures)} ({warm_up.failures[0]})")
                if all(images > 0 for images, _, _ in worker_counts(cluster).values()):
                    break
            else:
                print(f"  {workers} worker(s): not every worker ran a warm-up job in {WARM_UP_ROUNDS} rounds")
            before, cpu_before = worker_counts(cluster), cpu_seconds(cluster)
            poller = Poller(cluster, recent, args.get_rate, max_s=args.job_timeout * args.jobs + 60)
            poller.start()
            started = time.perf_counter()
            try:
                outcome = run_clients(cluster, body, args.clients, args.jobs, seed0=0, recent=recent, args=args)
            finally:
                wall_s = time.perf_counter() - started
                poller.stop.set()
                poller.join(15)
            after, cpu_after = worker_counts(cluster), cpu_seconds(cluster)
        finally:
            down(root)
    per_worker = {}
    for name, (images, batches, batch_sum) in after.items():
        images0, batches0, batch_sum0 = before.get(name, (0.0, 0.0, 0.0))
        n_batches = batches - batches0
        per_worker[name] = (images - images0, (batch_sum - batch_sum0) / n_batches if n_batches else float("nan"))
    cpu_s = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    return Figures(
        workers, len(outcome.latencies), wall_s, outcome, list(poller.latencies), poller.errors, per_worker, cpu_s
    )


def report(f: Figures) -> None:
    o = f.outcome
    print(
        f"{f.workers} worker(s): {f.images} images in {f.wall_s:.2f} s = {f.images_per_s:.3f} images/s; "
        f"job latency p50 {percentile(o.latencies, 50):.2f} s, p95 {percentile(o.latencies, 95):.2f} s; "
        f"GET /v1/jobs/{{id}} p50 {percentile(f.get_latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(f.get_latencies, 99) * 1000:.1f} ms ({len(f.get_latencies)} requests, {f.get_errors} errors)"
    )
    shares = ", ".join(
        f"{name} {images:.0f} images (mean batch {batch:.2f})" for name, (images, batch) in f.per_worker.items()
    )
    print(f"  per worker: {shares}")
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(f.cpu_s.items(), key=lambda kv: -kv[1]))
    print(f"  CPU seconds in the timed part ({os.cpu_count()} cores x {f.wall_s:.1f} s here): {cpu}")
    if o.failures:
        print(f"  {len(o.failures)} job(s) did not succeed (first: {o.failures[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--jobs", type=int, default=4, help="timed jobs per client, after the warm-up")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between a client's polls of its job")
    parser.add_argument("--get-rate", type=float, default=20, help="GET /v1/jobs/{id} per second from the poller")
    parser.add_argument("--job-timeout", type=float, default=300, help="a job not done by then counts as failed")
    parser.add_argument(
        "--max-batch-images", type=int, default=0, help="DIFFUSERVE_MAX_BATCH_IMAGES of the workers (0: default)"
    )
    args = parser.parse_args()

    print(
        f"txt2img {MODEL} {args.size}x{args.size}, {args.steps} steps, 1 image per request, "
        f"{args.clients} clients x {args.jobs} jobs (after warm-up), client poll every {args.poll}s, "
        f"GET poller {args.get_rate:g}/s; 1 API replica, CPU workers with 1 torch thread each, "
        + (
            f"batches of at most {args.max_batch_images} images"
            if args.max_batch_images
            else f"batching at its defaults (max {BATCH['max_batch_images']} images, "
            f"window {BATCH['batch_window_ms']} ms)"
        )
    )
    results = {}
    for workers in (1, 2):
        results[workers] = measure(workers, args)
        report(results[workers])
    one, two = results[1].images_per_s, results[2].images_per_s
    ratio = f"{two / one:.2f}x" if one > 0 else "n/a"
    print(f"throughput ratio images/s(2 workers) / images/s(1 worker): {ratio} (target >= {TARGET_RATIO}x)")


if __name__ == "__main__":
    main()
