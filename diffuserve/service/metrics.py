"""The API's Prometheus metrics, read at scrape time: queue depth per model, running jobs, and the workers that
heartbeat over Redis with their state and loaded models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobStatus

MAX_COUNTED = 10_000


class _QueueCollector(Collector):
    def __init__(self, jobs: JobRepository, workers: Callable[[], Sequence[tuple[str, str, Sequence[str]]]]) -> None:
        self.jobs = jobs
        self.workers = workers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("diffuserve_queue_depth", "Queued jobs per model", labels=["model_id"])
        for model_id, count in Counter(
            str(j.input.get("modelId")) for j in self.jobs.queued(limit=MAX_COUNTED)
        ).items():
            depth.add_metric([model_id], count)
        yield depth
        running = GaugeMetricFamily("diffuserve_jobs_running", "Jobs claimed by a worker and not ended")
        running.add_metric([], self.jobs.count(statuses=[s.value for s in JobStatus if s.is_running]))
        yield running
        up = GaugeMetricFamily("diffuserve_worker_up", "Workers with a live heartbeat", labels=["worker", "state"])
        loaded = GaugeMetricFamily(
            "diffuserve_worker_loaded_model", "Models a worker holds", labels=["worker", "model_id"]
        )
        for name, state, models in self.workers():
            up.add_metric([name, state], 1)
            for model_id in models:
                loaded.add_metric([name, model_id], 1)
        yield up
        yield loaded


class ApiMetrics:
    def __init__(self, jobs: JobRepository, workers: Callable[[], Sequence[tuple[str, str, Sequence[str]]]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_QueueCollector(jobs, workers))

    def text(self) -> bytes:
        return generate_latest(self.registry)
