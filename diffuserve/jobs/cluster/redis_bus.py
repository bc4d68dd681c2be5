"""The EventBus over Redis: job events and cancel requests on pub/sub channels, cancels also kept as keys (a worker
that missed the message, or claims the job later, still sees them), and worker heartbeats with loaded models.

Redis may restart at any time: publishing never fails a job (the database is the record; readers also poll it),
and the listening thread reconnects on its own."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from diffuserve.jobs.events import CancelListener, CancelRequest, JobEvent, JobListener, Listeners
from diffuserve.storage.records import JobStatus

logger = logging.getLogger(__name__)

EVENTS = "diffuserve:events"
CANCELS = "diffuserve:cancels"
CANCEL_KEY = "diffuserve:cancel:{}"
CANCEL_TTL_S = 24 * 3600
WORKER_KEY = "diffuserve:worker:{}"
RECONNECT_S = 0.5


@dataclass(frozen=True)
class WorkerInfo:
    """A worker's last heartbeat: its queue name, state and loaded models."""

    name: str
    state: str
    loaded: tuple[str, ...]
    seen: float


class RedisBus:
    """An EventBus shared by every API replica and worker that points at the same Redis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=10)
        self._events: Listeners[JobEvent] = Listeners()
        self._cancels: Listeners[CancelRequest] = Listeners()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()

    # -- EventBus --

    def publish(self, event: JobEvent) -> None:
        self._send(EVENTS, json.dumps([event.job_id, event.status.value, event.progress]))

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        self._listen()
        return self._events.add(listener)

    def request_cancel(self, request: CancelRequest) -> None:
        try:
            self.redis.set(CANCEL_KEY.format(request.job_id), 1, ex=CANCEL_TTL_S)
        except redis.RedisError:
            logger.warning("could not store a cancel request job_id=%s", request.job_id)
        self._send(CANCELS, request.job_id)

    def on_cancel(self, listener: CancelListener) -> Callable[[], None]:
        self._listen()
        return self._cancels.add(listener)

    def notify_work(self) -> None:
        """Work reaches cluster workers as Celery messages; nothing to do here."""

    def wait_for_work(self, timeout_s: float) -> bool:
        """A cluster worker re-reads the queue table after a pause (new work has no in-process signal)."""
        self._stopping.wait(timeout_s)
        return True

    # -- beyond the protocol --

    def cancel_requested(self, job_ids: Sequence[str]) -> list[str]:
        """The jobs among `job_ids` with a stored cancel request (for workers that missed the message)."""
        if not job_ids:
            return []
        try:
            flags = self.redis.mget([CANCEL_KEY.format(j) for j in job_ids])
        except redis.RedisError:
            return []
        return [j for j, flag in zip(job_ids, flags, strict=True) if flag]

    def heartbeat(self, info: WorkerInfo, ttl_s: float) -> None:
        data = {"state": info.state, "loaded": list(info.loaded), "seen": info.seen}
        try:
            self.redis.set(WORKER_KEY.format(info.name), json.dumps(data), px=int(ttl_s * 1000))
        except redis.RedisError:
            logger.warning("could not send the worker heartbeat worker=%s", info.name)

    def workers(self) -> list[WorkerInfo]:
        """Workers whose heartbeat has not expired."""
        try:
            keys = sorted(self.redis.scan_iter(WORKER_KEY.format("*"), count=100))
            values = self.redis.mget(keys) if keys else []
        except redis.RedisError:
            return []
        infos = []
        for key, value in zip(keys, values, strict=True):
            if value is None:
                continue
            data = json.loads(value)
            name = key.decode().removeprefix(WORKER_KEY.format(""))
            infos.append(WorkerInfo(name, data["state"], tuple(data["loaded"]), float(data["seen"])))
        return infos

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        self.redis.close()

    # -- internals --

    def _send(self, channel: str, message: str) -> None:
        try:
            self.redis.publish(channel, message)
        except redis.RedisError as exc:
            logger.warning("could not publish channel=%s error=%s", channel, exc)

    def _listen(self) -> None:
        with self._started:
            if self._thread is None:
                self._thread = threading.Thread(target=self._receive, name="diffuserve-redis-bus", daemon=True)
                self._thread.start()

    def _receive(self) -> None:
        """Delivers messages to the listeners; reconnects (and resubscribes) whenever Redis goes away."""
        while not self._stopping.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(EVENTS, CANCELS)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._deliver(message["channel"].decode(), message["data"].decode())
            except (redis.RedisError, OSError) as exc:
                logger.warning("redis bus disconnected, reconnecting error=%s", exc)
                self._stopping.wait(RECONNECT_S)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()

    def _deliver(self, channel: str, data: str) -> None:
        if channel == CANCELS:
            self._cancels.call(CancelRequest(data))
            return
        job_id, status, progress = json.loads(data)
        self._events.call(JobEvent(job_id, JobStatus(status), float(progress)))
