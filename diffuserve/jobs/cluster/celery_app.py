"""The Celery application that carries "run this job" messages from the API replicas to the GPU workers.

One message per queued job, late acknowledgement, one message in flight per worker process: a worker killed in the
middle of a batch leaves its message to be delivered again. A message only says where work is: the claim in the
jobs table decides who runs it, so a lost or repeated message costs latency, never a job."""

from __future__ import annotations

from celery import Celery

TASK = "diffuserve.run"
SHARED_QUEUE = "diffuserve"


def worker_queue(name: str) -> str:
    """The queue only this worker consumes: jobs for a model it holds are sent there."""
    return f"diffuserve.worker.{name}"


def make_celery(broker_url: str) -> Celery:
    app = Celery("diffuserve", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=SHARED_QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    return app
