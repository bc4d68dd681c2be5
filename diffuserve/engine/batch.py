"""One batched run: the rows of several requests that share a batch key, denoised in pipeline calls of at most
`max_images` rows, each row with its own prompt, seed, input image, mask and reference images.

Per request: progress, previews and cancel (a cancelled request's rows are dropped; the others finish). A failing
call with rows of several requests is retried one request at a time, so one bad request never fails another;
CUDA out-of-memory halves the call and retries.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from diffuserve.catalog.types import Callbacks, GeneratedImage, GenerationResult, Progress, ResolvedRequest
from diffuserve.engine.families.base import Family
from diffuserve.engine.images import fit_image, fit_mask, merge_inpaint
from diffuserve.errors import GenerationCanceled

log = logging.getLogger(__name__)


@dataclass(eq=False)
class BatchItem:
    """One request of the batch and what the run has made of it so far."""

    resolved: ResolvedRequest
    callbacks: Callbacks
    image: Image.Image | None = None
    mask: Image.Image | None = None
    outputs: dict[int, Image.Image] = field(default_factory=dict)
    calls_total: int = 0
    calls_done: int = 0
    canceled: bool = False
    error: BaseException | None = None

    @property
    def active(self) -> bool:
        return not self.canceled and self.error is None

    def check_cancel(self) -> bool:
        """Asks the caller once per step; once True, the item stays cancelled and hears nothing more."""
        if self.active and self.callbacks.should_cancel is not None and self.callbacks.should_cancel():
            self.canceled = True
        return self.canceled

    def outcome(self) -> GenerationResult | BaseException:
        if self.error is not None:
            return self.error
        if self.canceled:
            return GenerationCanceled("generation canceled")
        r = self.resolved
        images = [self.outputs[i] for i in range(r.request.num_samples)]
        # Inpaint (unless disableMerging) and img2img with a mask: the change stays inside the mask.
        if self.mask is not None and not (r.request.mode.uses_mask and r.request.disable_merging):
            assert self.image is not None
            images = [merge_inpaint(self.image, im, self.mask) for im in images]
        return GenerationResult(
            images=tuple(
                GeneratedImage(image=im, seed=s, index=i) for i, (im, s) in enumerate(zip(images, r.seeds, strict=True))
            ),
            resolved=r,
        )


Row = tuple[BatchItem, int]  # (request, image index within it)
Encoder = Callable[[Sequence[Row], bool], dict[str, Any]]


class _AllCanceled(GenerationCanceled):
    """Every request of a call is cancelled: stop the call."""


class _StepTracker:
    """diffusers' per-step callback for one call: cancel checks for every request, progress and previews for
    the requests in the call."""

    def __init__(self, items: Sequence[BatchItem], rows: Sequence[Row], family: Family, preview_every: int) -> None:
        self.items = items
        self.rows = rows
        self.family = family
        self.preview_every = preview_every
        self.in_call = list(dict.fromkeys(item for item, _ in rows))

    def __call__(self, pipe: DiffusionPipeline, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        for item in self.items:
            item.check_cancel()
        if not any(item.active for item in self.in_call):
            raise _AllCanceled("generation canceled")
        per_call = int(pipe.num_timesteps)
        last = step + 1 == per_call
        previews: list[Image.Image] | None = None
        for item in self.in_call:
            if not item.active:
                continue
            cb = item.callbacks
            if cb.on_progress is not None:
                done = item.calls_done * per_call + step + 1
                cb.on_progress(Progress(done=done, total=item.calls_total * per_call))
            wants = item.resolved.request.intermediate_images and cb.on_preview is not None
            if wants and not last and (step + 1) % self.preview_every == 0:
                if previews is None:
                    previews = self.family.previews(tensors["latents"], item.resolved)
                assert cb.on_preview is not None
                cb.on_preview([p for p, (owner, _) in zip(previews, self.rows, strict=True) if owner is item])
        return tensors


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


class BatchRun:
    """Runs `items` (one batch key) on `pipe`; afterwards each item holds its images, or why it has none."""

    def __init__(
        self,
        pipe: DiffusionPipeline,
        family: Family,
        items: Sequence[BatchItem],
        *,
        max_images: int,
        preview_every: int,
        encode: Encoder,
    ) -> None:
        self.pipe = pipe
        self.family = family
        self.items = items
        self.max_images = max_images
        self.preview_every = preview_every
        self.encode = encode
        self.resolved = items[0].resolved  # every item shares the batch key, so these values

    def run(self) -> None:
        r = self.resolved
        for item in self.items:
            request = item.resolved.request
            try:
                if request.image is not None:
                    item.image = fit_image(request.image, r.width, r.height)
                if request.mask is not None:
                    item.mask = fit_mask(request.mask, r.width, r.height)
            except Exception as exc:  # an unreadable image fails its own request only
                item.error = exc
        rows: list[Row] = [
            (item, i) for item in self.items if item.active for i in range(item.resolved.request.num_samples)
        ]
        groups = [rows]
        if self._one_request_per_call:
            groups = [[row for row in rows if row[0] is item] for item in self.items]
        calls = deque(g[i : i + self.max_images] for g in groups for i in range(0, len(g), self.max_images) if g)
        self._count_calls(calls)
        while calls:
            call = [row for row in calls.popleft() if row[0].active]
            if call:
                self._run_call(call, calls)

    @property
    def _one_request_per_call(self) -> bool:
        """A family whose images condition every row of a call (FLUX.2 references) runs each request alone."""
        mode = self.resolved.request.mode
        return self.family.takes_references and (mode.uses_image or mode.uses_ip_adapter)

    def _count_calls(self, calls: deque[list[Row]]) -> None:
        """Each item's progress runs over the calls that hold its rows (recounted when a call is split)."""
        for item in self.items:
            item.calls_total = item.calls_done + sum(any(owner is item for owner, _ in c) for c in calls)

    def _run_call(self, call: list[Row], calls: deque[list[Row]]) -> None:
        owners = list(dict.fromkeys(item for item, _ in call))
        try:
            images = self._call_pipeline(call)
        except _AllCanceled:
            return
        except Exception as exc:
            if _is_oom(exc) and len(call) > 1:
                half = len(call) // 2
                log.warning("out of memory: halving the batch rows=%d->%d,%d", len(call), half, len(call) - half)
                calls.extendleft([call[half:], call[:half]])
            elif len(owners) > 1:
                log.warning(
                    "batched run failed, retrying its %d requests one by one error=%s", len(owners), exc, exc_info=True
                )
                calls.extendleft(reversed([[row for row in call if row[0] is item] for item in owners]))
            else:
                owners[0].error = exc
                return
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            self._count_calls(calls)
            return
        for (item, index), image in zip(call, images, strict=True):
            item.outputs[index] = image
        for item in owners:
            item.calls_done += 1

    def _call_pipeline(self, call: list[Row]) -> list[Image.Image]:
        # The batch key's values, or, when a call holds one request, that request (its own reference images).
        r = call[0][0].resolved if self._one_request_per_call else self.resolved
        cfg = self.family.uses_cfg(self.pipe, r)
        images = [item.image for item, _ in call]
        masks = [item.mask for item, _ in call]
        kwargs = {**self.family.call_kwargs(r, images, masks, cfg=cfg), **self.encode(call, cfg)}
        generators = [torch.Generator("cpu").manual_seed(item.resolved.seed + index) for item, index in call]
        tracker = _StepTracker(self.items, call, self.family, self.preview_every)
        with torch.inference_mode():
            output = self.pipe(
                **kwargs,
                generator=generators,
                callback_on_step_end=tracker,
                callback_on_step_end_tensor_inputs=["latents"],
            )
        return list(output.images)
