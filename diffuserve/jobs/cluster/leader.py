"""Work that one process of the cluster does at a time (the reaper, re-dispatching, the webhook outbox): whoever
holds a Redis lock runs the duties every tick; when it dies the lock expires and another API replica takes over."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence

import redis

from diffuserve.jobs.cluster.dispatch import CeleryDispatcher
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.timeutil import utcnow

logger = logging.getLogger(__name__)

LOCK = "diffuserve:leader"
# Only the holder renews or releases: compare-and-set in one step.
_IF_HOLDER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call({}) else return 0 end"
_RENEW = _IF_HOLDER.format("'pexpire', KEYS[1], ARGV[2]")
_RELEASE = _IF_HOLDER.format("'del', KEYS[1]")


class Leader:
    """Runs `duties` every `tick_s` while this process holds the lock (held for 5 ticks, renewed every tick)."""

    def __init__(self, client: redis.Redis, name: str, duties: Sequence[Callable[[], None]], tick_s: float = 1.0):
        self.redis = client
        self.name = name
        self.duties = duties
        self.tick_s = tick_s
        self.leading = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="diffuserve-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.leading:
            with contextlib.suppress(redis.RedisError):
                self.redis.eval(_RELEASE, 1, LOCK, self.name)

    def _hold(self) -> bool:
        ttl_ms = int(self.tick_s * 5000)
        if self.leading:
            return bool(self.redis.eval(_RENEW, 1, LOCK, self.name, ttl_ms))
        return bool(self.redis.set(LOCK, self.name, nx=True, px=ttl_ms))

    def _run(self) -> None:
        while not self._stopping.wait(self.tick_s):
            try:
                leading = self._hold()
            except redis.RedisError as exc:
                logger.warning("leader lock unavailable error=%s", exc)
                leading = False
            if leading != self.leading:
                logger.info("leadership %s name=%s", "taken" if leading else "lost", self.name)
                self.leading = leading
            if not leading:
                continue
            for duty in self.duties:
                try:
                    duty()
                except Exception as exc:
                    logger.warning("leader duty failed duty=%s error=%s", getattr(duty, "__name__", duty), exc)


class Reaper:
    """Jobs whose worker stopped renewing their lease go back to the queue (three interrupted runs: failure) and
    are dispatched again; queued jobs that waited too long with an empty queue are dispatched again too."""

    def __init__(self, jobs: JobRepository, dispatcher: CeleryDispatcher, redispatch_after_s: float) -> None:
        self.jobs = jobs
        self.dispatcher = dispatcher
        self.redispatch_after_s = redispatch_after_s
        self._sent: dict[str, float] = {}

    def reap(self) -> None:
        for job_id in self.jobs.requeue_expired():
            logger.warning("lease expired, job re-queued job_id=%s", job_id)
            self._dispatch(job_id)

    def redispatch(self) -> None:
        """A message can be lost (Redis restarted); the shared queue being empty while jobs wait says so."""
        if self.dispatcher.queue_length() != 0:
            return
        now, mono = utcnow(), time.monotonic()
        for job in self.jobs.queued(limit=100):
            waited = (now - job.updated_at).total_seconds()
            if waited > self.redispatch_after_s and mono - self._sent.get(job.id, 0.0) > self.redispatch_after_s:
                logger.info("queued job dispatched again job_id=%s waited_s=%.1f", job.id, waited)
                self._dispatch(job.id)
        self._sent = {k: v for k, v in self._sent.items() if mono - v < 10 * self.redispatch_after_s}

    def _dispatch(self, job_id: str) -> None:
        self._sent[job_id] = time.monotonic()
        self.dispatcher.dispatch(job_id)
