"""`diffuserve worker`: one GPU worker process of a cluster. It consumes Celery messages (the shared queue and its
own), claims batches from the jobs table under leases, and reports over Redis; /healthz, /readyz and /metrics on
`--http-port`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diffuserve.app import Stores
    from diffuserve.config import Settings
    from diffuserve.jobs.cluster.redis_bus import RedisBus
    from diffuserve.jobs.worker import Worker

logger = logging.getLogger(__name__)


def cmd_worker(args: argparse.Namespace) -> int:
    from diffuserve.config import Settings

    settings = Settings.from_cli(
        args,
        device=getattr(args, "device", None),
        worker_name=getattr(args, "name", None),
        worker_http_port=getattr(args, "http_port", None),
    )
    if not settings.redis_url:
        print(
            "diffuserve worker: DIFFUSERVE_REDIS_URL is not set; a worker joins a cluster (Redis, a shared "
            "database and blob store). The single-process default runs its worker inside `diffuserve serve`.",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for chatty in ("alembic", "botocore", "celery"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from celery import Celery
    from celery.signals import setup_logging

    setup_logging.connect(_keep_logging)  # a receiver tells Celery to leave the process's logging alone

    from diffuserve.app import build_worker, open_stores
    from diffuserve.engine.quiet import quiet_libraries
    from diffuserve.jobs.cluster.celery_app import SHARED_QUEUE, TASK, make_celery, worker_queue
    from diffuserve.jobs.cluster.redis_bus import RedisBus
    from diffuserve.jobs.metrics import WorkerMetrics

    quiet_libraries()
    name = settings.worker_name or f"{socket.gethostname()}-{os.getpid()}"
    with ExitStack() as stack:
        stores = open_stores(settings, stack)
        bus = RedisBus(settings.redis_url)
        stack.callback(bus.close)
        from prometheus_client import CollectorRegistry

        metrics = WorkerMetrics(CollectorRegistry(), name)
        worker = build_worker(
            settings, stores, bus, name=name, heartbeat=lambda w: _beat(w, bus, metrics), metrics=metrics
        )
        worker.open()
        stack.callback(worker.stop, timeout_s=settings.shutdown_timeout_s)
        if settings.worker_http_port:
            server = _http(settings, worker, stores, bus, metrics.registry)
            stack.callback(server.shutdown)
        broker = settings.resolved_broker_url
        assert broker is not None
        celery: Celery = make_celery(broker)

        @celery.task(name=TASK)  # type: ignore[untyped-decorator]
        def run(job_id: str) -> None:
            worker.run_once(hint=job_id)

        logger.info("worker ready name=%s device=%s queues=%s", name, settings.device, worker_queue(name))
        celery.worker_main(
            [
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--prefetch-multiplier=1",
                f"--queues={SHARED_QUEUE},{worker_queue(name)}",
                f"--hostname={name}@%h",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    return 0


def _keep_logging(**_: Any) -> None:
    return None


def _beat(worker: Worker, bus: RedisBus, metrics: Any) -> None:
    from diffuserve.jobs.cluster.redis_bus import WorkerInfo

    now = time.time()
    loaded = worker.loaded_models()
    bus.heartbeat(WorkerInfo(worker.name, worker.state.value, tuple(loaded), now), ttl_s=5.0)
    metrics.beat(now, loaded, _gpu_bytes())


def _gpu_bytes() -> Any:
    import torch

    return torch.cuda.memory_allocated if torch.cuda.is_available() else None


def _http(settings: Settings, worker: Worker, stores: Stores, bus: RedisBus, registry: Any) -> ThreadingHTTPServer:
    """/healthz: the process answers; /readyz: engine built, database, Redis and blob store reachable;
    /metrics: Prometheus."""
    from prometheus_client import generate_latest

    from diffuserve.app import readiness

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(registry), "text/plain; version=0.0.4")
                return
            if self.path == "/healthz":
                body: dict[str, Any] = {"status": "ok", "state": worker.state.value}
                self._send(200, json.dumps(body).encode(), "application/json")
                return
            if self.path == "/readyz":
                checks = {"engine": worker.ready.is_set(), **readiness(stores, bus)}
                code = 200 if all(checks.values()) else 503
                self._send(code, json.dumps({"ready": code == 200, "checks": checks}).encode(), "application/json")
                return
            self._send(404, b'{"reason": "not_found"}', "application/json")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((settings.host, settings.worker_http_port), Handler)
    threading.Thread(target=server.serve_forever, name="diffuserve-worker-http", daemon=True).start()
    return server


def add_worker_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keep = argparse.SUPPRESS
    p = sub.add_parser(
        "worker",
        help="run one GPU worker of a cluster (needs DIFFUSERVE_REDIS_URL and a shared database and blob store)",
        description="Consumes jobs dispatched by `diffuserve serve` replicas through Celery on Redis and runs them in "
        "batches on one device. Run one per GPU: `diffuserve worker --device cuda:0`, `--device cuda:1`, ...",
    )
    p.add_argument("--device", default=keep, help="torch device: cuda:N, cpu or auto (default auto)")
    p.add_argument("--name", default=keep, help="worker name, its queue and lease owner (default <host>-<pid>)")
    p.add_argument("--http-port", type=int, default=keep, help="port of /healthz, /readyz, /metrics (default: none)")
    p.add_argument(
        "--data-dir", default=keep, help="data folder: demo models, secret (default: $DIFFUSERVE_DATA_DIR or ./data)"
    )
    p.set_defaults(func=cmd_worker)
