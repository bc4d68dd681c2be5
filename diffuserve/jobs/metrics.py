"""Prometheus metrics of a worker: jobs and images done, batch sizes, wait and run times, loaded models, GPU
memory. One registry per process, built by whoever builds the worker (no module-level collectors)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from diffuserve.storage.records import JobRecord
from diffuserve.storage.timeutil import utcnow

_SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry, worker: str) -> None:
        self.registry = registry
        labels = {"worker": worker}
        self.jobs = Counter("diffuserve_jobs", "Jobs that ended on this worker", ["status"], registry=registry)
        self.images = Counter("diffuserve_images", "Images generated", registry=registry)
        self.batch_images = Histogram(
            "diffuserve_batch_images", "Images per batch", buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=registry
        )
        self.wait_seconds = Histogram(
            "diffuserve_job_wait_seconds", "Queued until claimed", buckets=_SECONDS, registry=registry
        )
        self.run_seconds = Histogram(
            "diffuserve_batch_run_seconds",
            "Claimed until every job of the batch ended",
            buckets=_SECONDS,
            registry=registry,
        )
        self.heartbeat = Gauge("diffuserve_worker_heartbeat_timestamp", "Last heartbeat", registry=registry)
        self.loaded = Gauge("diffuserve_worker_loaded_models", "Models loaded", ["model_id"], registry=registry)
        self.gpu_bytes = Gauge("diffuserve_gpu_memory_allocated_bytes", "GPU memory held by torch", registry=registry)
        self.labels = labels

    def claimed(self, jobs: list[JobRecord]) -> None:
        now = utcnow()
        for job in jobs:
            self.wait_seconds.observe((now - job.created_at).total_seconds())
        self.batch_images.observe(sum(int(j.input.get("numSamples", 1)) for j in jobs))

    def ended(self, status: str, images: int = 0) -> None:
        self.jobs.labels(status=status).inc()
        self.images.inc(images)

    def beat(self, timestamp: float, loaded: list[str], gpu_bytes: Callable[[], int] | None) -> None:
        self.heartbeat.set(timestamp)
        self.loaded.clear()
        for model_id in loaded:
            self.loaded.labels(model_id=model_id).set(1)
        if gpu_bytes is not None:
            self.gpu_bytes.set(gpu_bytes())
