"""Choosing the next batch from the queue: a pure function over queued jobs (Ray Serve's @serve.batch contract,
with a model-affinity rule), tested on its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from diffuserve.catalog.batching import BatchKey


@dataclass(frozen=True)
class Candidate:
    """A queued job as the batch picker sees it."""

    job_id: str
    key: BatchKey
    images: int
    waited_s: float


def select_batch(
    queued: Sequence[Candidate],
    *,
    is_loaded: Callable[[BatchKey], bool],
    max_images: int,
    max_wait_s: float,
) -> list[Candidate]:
    """The next batch, oldest first: the jobs that share the key of the head job, up to `max_images` images
    (a lone job with more images runs alone, in several calls).

    Model affinity: when the oldest job's model is not loaded, the oldest job whose model is goes first, unless
    the oldest job has waited `max_wait_s` or more, so no job waits behind an endless stream for another model.
    """
    if not queued:
        return []
    head = queued[0]
    if not is_loaded(head.key) and head.waited_s < max_wait_s:
        head = next((c for c in queued if is_loaded(c.key)), head)
    batch, images = [head], head.images
    for candidate in queued:
        if candidate is head or candidate.key != head.key:
            continue
        if images + candidate.images <= max_images:
            batch.append(candidate)
            images += candidate.images
    return batch
