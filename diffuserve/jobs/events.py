"""What crosses between the job client (front ends) and the workers: small typed events, never callbacks into
the database from the other side. The in-process bus carries them here; a distributed bus (Redis) can too."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from diffuserve.storage.records import JobStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_KEPT_CANCELS = 10_000


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job: its status or progress changed, or new previews were stored."""

    job_id: str
    status: JobStatus
    progress: float


@dataclass(frozen=True)
class CancelRequest:
    """A user asked to stop a job that a worker may be running."""

    job_id: str


JobListener = Callable[[JobEvent], None]
CancelListener = Callable[[CancelRequest], None]


class EventBus(Protocol):
    """Events from workers to front ends, cancel requests and work notices from front ends to workers."""

    def publish(self, event: JobEvent) -> None: ...

    def subscribe(self, listener: JobListener) -> Callable[[], None]: ...

    def request_cancel(self, request: CancelRequest) -> None: ...

    def cancel_requested(self, job_ids: Sequence[str]) -> list[str]: ...

    def on_cancel(self, listener: CancelListener) -> Callable[[], None]: ...

    def notify_work(self) -> None: ...

    def wait_for_work(self, timeout_s: float) -> bool: ...


class Listeners(Generic[T]):
    """A thread-safe list of listeners; one that raises is logged and does not stop the others."""

    def __init__(self) -> None:
        self._items: list[Callable[[T], None]] = []
        self._lock = threading.Lock()

    def add(self, listener: Callable[[T], None]) -> Callable[[], None]:
        with self._lock:
            self._items.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._items:
                    self._items.remove(listener)

        return remove

    def call(self, value: T) -> None:
        with self._lock:
            items = list(self._items)
        for listener in items:
            try:
                listener(value)
            except Exception:
                logger.exception("listener failed value=%s", value)


class LocalBus:
    """The in-process EventBus: front ends and the worker in one process."""

    def __init__(self) -> None:
        self._events: Listeners[JobEvent] = Listeners()
        self._cancels: Listeners[CancelRequest] = Listeners()
        self._work = threading.Condition()
        self._pending = 0
        self._cancel_requests: OrderedDict[str, None] = OrderedDict()  # kept for a worker that claims later
        self._cancel_lock = threading.Lock()

    def publish(self, event: JobEvent) -> None:
        self._events.call(event)

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        return self._events.add(listener)

    def request_cancel(self, request: CancelRequest) -> None:
        with self._cancel_lock:
            self._cancel_requests[request.job_id] = None
            while len(self._cancel_requests) > MAX_KEPT_CANCELS:
                self._cancel_requests.popitem(last=False)
        self._cancels.call(request)

    def cancel_requested(self, job_ids: Sequence[str]) -> list[str]:
        with self._cancel_lock:
            return [j for j in job_ids if j in self._cancel_requests]

    def on_cancel(self, listener: CancelListener) -> Callable[[], None]:
        return self._cancels.add(listener)

    def notify_work(self) -> None:
        with self._work:
            self._pending += 1
            self._work.notify_all()

    def wait_for_work(self, timeout_s: float) -> bool:
        """True when work was announced since the last call (or arrives within timeout_s)."""
        with self._work:
            if self._pending == 0 and timeout_s > 0:
                self._work.wait(timeout_s)
            arrived = self._pending > 0
            self._pending = 0
            return arrived
