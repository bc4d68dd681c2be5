"""Webhook delivery for imagepipeline jobs: the status JSON POSTed once a job ends, retried with backoff.

Delivery is recorded in the job row, so webhooks still owed at a restart are sent then. Every attempt is signed
as Standard Webhooks has it (webhook_signature.py): webhook-id is the job id, the same on each retry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from diffuserve.jobs.client import JobClient
from diffuserve.jobs.events import JobEvent
from diffuserve.service.fetch import SafeHttp
from diffuserve.service.imagepipeline import status_body
from diffuserve.service.signing import UrlSigner
from diffuserve.service.webhook_signature import signed_headers
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord

logger = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(
        self,
        *,
        jobs: JobRepository,
        queue: JobClient,
        http: SafeHttp,
        signer: UrlSigner,
        attempts: int,
        backoff_s: float,
        secret_key: bytes,
    ) -> None:
        self.jobs = jobs
        self.queue = queue
        self.http = http
        self.signer = signer
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.secret_key = secret_key
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="diffuserve-webhook")
        self._stopping = threading.Event()
        self._unsubscribe: object = None
        self._sending: set[str] = set()
        self._sending_lock = threading.Lock()

    def start(self, *, listen: bool = True) -> None:
        """Listens for jobs that end (unless a cluster's leader calls send_owed instead), then sends what is
        still owed (ended while no process listened)."""
        if listen:
            self._unsubscribe = self.queue.subscribe(self._on_event)
        self.send_owed()

    def send_owed(self) -> None:
        """Sends every webhook of an ended job that was not delivered yet (the outbox is the jobs table)."""
        for job in self.jobs.undelivered_webhooks():
            self._send(job)

    def stop(self) -> None:
        self._stopping.set()
        if callable(self._unsubscribe):
            self._unsubscribe()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _on_event(self, event: JobEvent) -> None:
        if not event.status.is_terminal:
            return
        job = self.jobs.get(event.job_id)
        if job.webhook_url and not job.webhook_delivered:
            self._send(job)

    def _send(self, job: JobRecord) -> None:
        """One delivery at a time per job: a job that ends while start() looks for owed ones is found twice."""
        with self._sending_lock:
            if job.id in self._sending:
                return
            self._sending.add(job.id)
        self._pool.submit(self._deliver, job)

    def _deliver(self, job: JobRecord) -> None:
        try:
            self._post(job)
        finally:
            with self._sending_lock:
                self._sending.discard(job.id)

    def _post(self, job: JobRecord) -> None:
        assert job.webhook_url is not None
        body = json.dumps(status_body(job, self.signer), separators=(",", ":")).encode()
        for attempt in range(1, self.attempts + 1):
            try:
                headers = signed_headers(self.secret_key, job.id, int(time.time()), body)
                code = self.http.post(job.webhook_url, body, headers)
                if 200 <= code < 300:
                    self.jobs.mark_webhook_delivered(job.id)
                    logger.info("webhook delivered job_id=%s attempt=%d", job.id, attempt)
                    return
                logger.warning("webhook refused job_id=%s attempt=%d status=%d", job.id, attempt, code)
            except Exception as exc:
                logger.warning("webhook failed job_id=%s attempt=%d error=%s", job.id, attempt, exc)
            if attempt < self.attempts and self._stopping.wait(self.backoff_s * 2 ** (attempt - 1)):
                return
        logger.error("webhook given up job_id=%s attempts=%d", job.id, self.attempts)
        self.jobs.mark_webhook_delivered(job.id)
