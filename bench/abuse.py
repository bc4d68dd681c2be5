"""Legitimate latency under abuse: p50/p99 of a steady legitimate load (GET /v1/models and GET /v1/jobs/{id} with a
valid key) idle, under a flood of failed authentications, and under a flood of image URLs that trickle a byte a
second; each flood's p99 over the idle p99 beside the target (at most 2x).

One `diffuserve serve` (keys required, default limits, DIFFUSERVE_FETCH_ALLOW_PRIVATE=true so the trickling server
on this machine may be fetched) in a fresh temporary folder. The legitimate load is open-loop: --clients threads,
each sending --rate requests/s (alternating the two GETs) for --seconds, whatever the answers take. Each flood runs
in a process of its own, so its client work does not slow the legitimate clients' threads; it starts --lead
seconds before the measured load and stops --lead seconds after it, so only its steady state is measured:
  auth: --attackers threads in a closed loop, each sending GET /v1/models with a wrong secret, half for the
        legitimate key id, half for random unknown key ids (all from 127.0.0.1, as the legitimate clients);
  slow-url: --slow-urls imagepipeline requests in flight at all times whose init_image sends a byte a second.
Bounded: every phase lasts --seconds; the floods stop with it. The three phases run in turn --rounds times (a busy
machine's load then falls on all of them alike); each phase's figures gather its rounds, and each round's p99 is
shown beside them. Not a test: nothing is asserted.

    python bench/abuse.py [--seconds 10] [--rounds 3] [--clients 4] [--rate 10] [--attackers 20] [--slow-urls 45]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from _serve import client_limits, percentile, serve

TARGET_RATIO = 2.0
MODEL = "tiny-sd15"
PHASES = ("idle", "auth", "slow-url")


# -- the legitimate load (this process) --


def legit_load(base_url: str, auth: tuple[str, str], job_id: str, args: argparse.Namespace) -> tuple[list[float], int]:
    """(latencies in seconds of the answers 200, count of other answers or errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    paths = ["/v1/models", f"/v1/jobs/{job_id}"]
    start = time.perf_counter() + 0.05
    end = start + args.seconds

    def client(index: int) -> None:
        nonlocal errors
        interval = 1 / args.rate
        with httpx.Client(base_url=base_url, auth=auth, timeout=60) as http:
            n = 0
            while True:
                due = start + index * interval / args.clients + n * interval  # spread evenly over the clients
                if due >= end:
                    return
                time.sleep(max(0.0, due - time.perf_counter()))
                try:
                    status = http.get(paths[n % 2]).status_code
                except httpx.HTTPError:
                    status = 0
                took = time.perf_counter() - due  # from when it was due: waiting for this thread counts too
                with lock:
                    if status == 200:
                        latencies.append(took)
                    else:
                        errors += 1
                n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


# -- the floods (a process of their own: `abuse.py --flood='["KIND", URL, KEY, SECRET, SECONDS, N]'`) --


def auth_flood(base_url: str, key_id: str, seconds: float, attackers: int) -> dict[str, Any]:
    counts: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def attacker(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            while time.monotonic() < end:
                key = key_id if index % 2 == 0 else "api_" + secrets.token_hex(12)
                try:
                    status = str(http.get("/v1/models", auth=(key, secrets.token_urlsafe(16))).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    counts[status] += 1

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(attackers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": sum(counts.values()), "answers": dict(counts)}


class _Trickle(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while True:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


def slow_url_flood(base_url: str, key_id: str, secret: str, seconds: float, in_flight: int) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slow.png"
    body = {"model_id": MODEL, "prompt": "slow", "width": 64, "height": 64, "init_image": url}
    counts: collections.Counter[str] = collections.Counter()

    async def one(client: httpx.AsyncClient, end: float) -> None:
        while time.monotonic() < end:
            try:
                answer = await client.post("/sd/text2image/v1", json=body)
                counts[f"{answer.status_code} {answer.json().get('reason', '')}".strip()] += 1
            except httpx.HTTPError as exc:
                counts[type(exc).__name__] += 1

    async def flood() -> None:
        limits = httpx.Limits(max_connections=in_flight + 4, max_keepalive_connections=in_flight + 4)
        async with httpx.AsyncClient(base_url=base_url, auth=(key_id, secret), timeout=120, limits=limits) as client:
            end = time.monotonic() + seconds
            tasks = [asyncio.create_task(one(client, end)) for _ in range(in_flight)]
            await asyncio.wait(tasks, timeout=seconds)
            for task in tasks:  # bounded: the requests still waiting on the trickle are dropped with the phase
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(flood())
    server.shutdown()
    return {"requests": sum(counts.values()), "answers": dict(counts), "in_flight": in_flight}


def run_flood(kind: str, base_url: str, auth: tuple[str, str], args: argparse.Namespace) -> subprocess.Popen[str]:
    count = args.attackers if kind == "auth" else args.slow_urls
    # The flood is up --lead seconds before the measured load and lasts --lead seconds after it, so its own start
    # and end (a process starting, connections opening and closing) fall outside the measurement.
    seconds = str(args.seconds + 2 * args.lead)
    # One JSON argument: a secret may start with "-", which argparse would take for an option.
    spec = json.dumps([kind, base_url, auth[0], auth[1], seconds, str(count)])
    command = [sys.executable, __file__, f"--flood={spec}"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


# -- the run --


def create_key(data_dir: Path) -> tuple[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "diffuserve.cli", "--data-dir", str(data_dir), "keys", "create", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key = json.loads(out)
    return key["key"], key["secret"]


def first_job(base_url: str, auth: tuple[str, str]) -> str:
    """A finished job for the legitimate clients to read (the worker is warm afterwards)."""
    body = {"modelId": MODEL, "prompt": "a lighthouse", "numSamples": 1, "numInferenceSteps": 2}
    body.update(width=64, height=64)
    with httpx.Client(base_url=base_url, auth=auth, timeout=120) as http:
        job_id: str = http.post("/v1/generate/txt2img", json=body).json()["job"]["jobId"]
        while http.get(f"/v1/jobs/{job_id}").json()["job"]["status"] not in ("success", "failure", "canceled"):
            time.sleep(0.2)
    return job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3, help="times the three phases run, in turn")
    parser.add_argument("--lead", type=float, default=2.0, help="seconds a flood runs before and after the load")
    parser.add_argument("--clients", type=int, default=4, help="legitimate client threads")
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s of each legitimate client")
    parser.add_argument("--attackers", type=int, default=20, help="auth flood: closed-loop attacker threads")
    parser.add_argument("--slow-urls", type=int, default=45, help="slow-url flood: requests in flight")
    parser.add_argument("--flood", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        kind, url, key_id, secret, seconds, count = json.loads(args.flood)
        if kind == "auth":
            result = auth_flood(url, key_id, float(seconds), int(count))
        else:
            result = slow_url_flood(url, key_id, secret, float(seconds), int(count))
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="diffuserve-abuse-") as root:
        data_dir = Path(root) / "data"
        auth = create_key(data_dir)
        env = {"DIFFUSERVE_FETCH_ALLOW_PRIVATE": "true", "DIFFUSERVE_DATA_DIR": str(data_dir)}
        with serve(data_dir, env, ready_timeout=300, open_mode=False) as base_url:
            job_id = first_job(base_url, auth)
            with httpx.Client(base_url=base_url, auth=auth, limits=client_limits(1)) as http:
                http.get("/v1/models").raise_for_status()  # the legitimate pair is verified once, as a client's is
            rows: list[Row] = []
            for _ in range(args.rounds):
                for phase in PHASES:
                    flood = None if phase == "idle" else run_flood(phase, base_url, auth, args)
                    if flood is not None:
                        time.sleep(args.lead)  # the flood is up before the measured load starts
                    latencies, errors = legit_load(base_url, auth, job_id, args)
                    summary = None
                    if flood is not None:
                        out, _ = flood.communicate(timeout=args.seconds + 2 * args.lead + 120)
                        summary = json.loads(out.strip().splitlines()[-1])
                    rows.append((phase, latencies, errors, summary))
            log_tail = (data_dir / "server.log").read_text(errors="replace").count("Traceback")
    report(rows, args, log_tail)


Row = tuple[str, list[float], int, dict[str, Any] | None]  # phase, latencies, errors, the flood's summary


def report(rows: list[Row], args: argparse.Namespace, tracebacks: int) -> None:
    by_phase = {phase: [r for r in rows if r[0] == phase] for phase in PHASES}
    gathered = {phase: [t for r in runs for t in r[1]] for phase, runs in by_phase.items()}
    idle_p99 = percentile(gathered["idle"], 99)
    print(
        f"legitimate load: {args.clients} clients x {args.rate:g} requests/s, {args.seconds:g} s per phase, "
        f"{args.rounds} rounds (GET /v1/models and GET /v1/jobs/{{id}} with a valid key)"
    )
    print(f"{'phase':<9} {'answered':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'p99/idle':>8}  p99 per round (ms)")
    for phase, runs in by_phase.items():
        latencies = gathered[phase]
        p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
        rounds = " ".join(f"{percentile(r[1], 99) * 1000:.0f}" for r in runs)
        errors = sum(r[2] for r in runs)
        ratio = p99 / 1000 / idle_p99
        print(f"{phase:<9} {len(latencies):>8} {errors:>6} {p50:>7.1f} {p99:>7.1f} {ratio:>7.2f}x  {rounds}")
    for phase, runs in by_phase.items():
        floods = [r[3] for r in runs if r[3] is not None]
        if floods:
            answers: collections.Counter[str] = collections.Counter()
            for flood in floods:
                answers.update(flood["answers"])
            listed = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())) or "none within the phase"
            print(f"{phase} flood: {sum(f['requests'] for f in floods)} requests answered ({listed})")
    worst = max(percentile(gathered[p], 99) for p in PHASES[1:]) / idle_p99
    verdict = "within" if worst <= TARGET_RATIO else "ABOVE"
    print(f"worst p99 ratio {worst:.2f}x: {verdict} the target of {TARGET_RATIO:g}x; server tracebacks: {tracebacks}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
