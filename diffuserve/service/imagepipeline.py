"""The imagepipeline.io-style API (spec §6): its fields mapped onto the same inference service and jobs.

The task id is the job id. Image URLs are fetched through SafeHttp and become data URLs, so the request
then follows exactly the Scenario path (assets, validation, job). A submission is checked on a thread, its URLs
fetched asynchronously (no thread waits on a slow server), then stored on a thread. Status: queued, warming-up,
in-progress and finalizing read PENDING; success reads SUCCESS with download_urls; failure and canceled read
FAILURE with error.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import IpAdapterType, Mode
from diffuserve.errors import InvalidRequest, NotFound
from diffuserve.service.fetch import SafeHttp
from diffuserve.service.generation_body import check_ip_image_count
from diffuserve.service.imagepipeline_schemas import ImagePipelineCreate
from diffuserve.service.inference import InferenceService
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.signing import UrlSigner, asset_content_path
from diffuserve.service.wire_fields import field_warnings
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobRecord, JobStatus

# Generic model names sent instead of a catalogue id: the first registered model of the family runs.
GENERIC_MODEL_IDS = {
    "sd": "sd15",
    "sd15": "sd15",
    "sd1.5": "sd15",
    "sd-1_5": "sd15",
    "sdxl": "sdxl",
    "sd-xl": "sdxl",
}


def status_body(job: JobRecord, signer: UrlSigner) -> dict[str, Any]:
    if job.status == JobStatus.SUCCESS:
        urls = [signer.sign(asset_content_path(a)) for a in job.asset_ids]
        return {"id": job.id, "status": "SUCCESS", "download_urls": urls}
    if job.status.is_terminal:
        error = job.error or ("the job was canceled" if job.status == JobStatus.CANCELED else "the job failed")
        return {"id": job.id, "status": "FAILURE", "error": error}
    return {"id": job.id, "status": "PENDING"}


@dataclass
class _Plan:
    """A checked submission whose image URLs are still to be fetched."""

    mode: Mode
    scenario: dict[str, Any]
    webhook: str | None
    init_url: str | None = None
    ref_urls: list[str] = field(default_factory=list)
    refs_field: str = "ip_adapter_image"
    # A face set and a style set at once: (type, urls, field, scales) each, fetched into scenario["ipAdapters"].
    sets: list[tuple[str, list[str], str, list[float]]] = field(default_factory=list)


class ImagePipelineService:
    def __init__(
        self,
        *,
        inference: InferenceService,
        jobs: JobRepository,
        registry: Registry,
        http: SafeHttp,
        signer: UrlSigner,
    ) -> None:
        self.inference = inference
        self.jobs = jobs
        self.registry = registry
        self.http = http
        self.signer = signer

    def _model_id(self, model_id: str | None, family: str) -> str:
        if model_id:
            try:
                return self.registry.get(model_id).id
            except NotFound:
                if model_id.lower() not in GENERIC_MODEL_IDS:
                    raise
                family = GENERIC_MODEL_IDS[model_id.lower()]
        for model in self.registry.list():
            if model.type.family == family and not model.type.is_lora:
                return model.id
        raise NotFound(f"no {family} model is registered", reason="model_not_found")

    def _adapter_kinds(self, model_id: str, names: list[str], *, face: bool, style: bool) -> list[IpAdapterType]:
        """The model's IP-Adapter sets the request uses, in the order of `ip_adapter`: a set's own file name (e.g.
        ip-adapter-plus-face_sd15), or a name with "face" for its character set and any other for its style set.
        Without names: the character set for ip_adapter_image, the style set for ip_adapter_style_images. A name or
        an image kind the model cannot serve is a 400 listing what it has."""
        model = self.registry.get(model_id)
        sets = {t: PurePosixPath(s.weights).stem for t, s in model.ip_adapters.items()}
        listing = ", ".join(f"{stem} ({t.value})" for t, stem in sets.items()) or "none"

        def available(kind: IpAdapterType, what: str) -> IpAdapterType:
            if kind not in sets:
                raise InvalidRequest(
                    f"{what} is not available for model {model.id!r}; its IP-Adapters: {listing}",
                    field="ip_adapter",
                    reason="unknown_ip_adapter",
                )
            return kind

        kinds: list[IpAdapterType] = []
        for name in names:
            by_file = next((t for t, stem in sets.items() if stem == name), None)
            kind = by_file or (IpAdapterType.CHARACTER if "face" in name.lower() else IpAdapterType.STYLE)
            if available(kind, f"ip_adapter {name!r}") not in kinds:
                kinds.append(kind)
        if face and style:  # a face adapter for ip_adapter_image and a style adapter for the style images
            for kind, what in ((IpAdapterType.CHARACTER, "a face adapter"), (IpAdapterType.STYLE, "a style adapter")):
                if kind not in kinds:
                    kinds.append(available(kind, what))
        if not kinds:
            kinds = [IpAdapterType.CHARACTER if face and IpAdapterType.CHARACTER in sets else IpAdapterType.STYLE]
        return kinds

    @staticmethod
    def _scales_per_set(kinds: list[IpAdapterType], scales: list[float] | None) -> dict[IpAdapterType, list[float]]:
        """`ip_adapter_scale` with two adapters: one scale per adapter in `ip_adapter`'s order, or one for both."""
        if scales is None:
            return {kind: [] for kind in kinds}
        if len(scales) not in (1, len(kinds)):
            raise InvalidRequest(
                f"ip_adapter_scale holds {len(scales)} values for {len(kinds)} adapters; give one per adapter, in "
                "the order of ip_adapter, or one for all",
                field="ip_adapter_scale",
            )
        return {kind: [scales[0] if len(scales) == 1 else scales[i]] for i, kind in enumerate(kinds)}

    async def _data_url(self, url: str, field: str) -> str:
        if url.startswith("data:"):
            return url
        data = await self.http.fetch(url, field=field)
        return "data:application/octet-stream;base64," + base64.b64encode(data).decode()

    async def submit(self, family: str, body: ImagePipelineCreate, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """POST /{sd,sdxl}/text2image/v1 -> {"id", "status": "PENDING"}."""
        warnings = field_warnings(body, "an imagepipeline request", strict=self.inference.strict_fields)
        plan = await asyncio.to_thread(self._plan, family, body)
        # Only now, with the request's shape checked, are the URLs fetched (together, without a thread each).
        fetched = await asyncio.gather(
            *([self._data_url(plan.init_url, "init_image")] if plan.init_url else []),
            *(self._data_url(u, plan.refs_field) for u in plan.ref_urls),
            *(self._data_url(u, name) for _, urls, name, _ in plan.sets for u in urls),
        )
        if plan.init_url:
            plan.scenario["image"] = fetched.pop(0)
        if plan.ref_urls:
            plan.scenario["ipAdapterImages"] = fetched[: len(plan.ref_urls)]
        if plan.sets:
            entries = []
            for kind, urls, _, scales in plan.sets:
                images, fetched = fetched[: len(urls)], fetched[len(urls) :]
                entries.append({"type": kind, "images": images, "scales": scales})
            plan.scenario["ipAdapters"] = entries
        return {**await asyncio.to_thread(self._store, plan, caller), **warnings}

    def _plan(self, family: str, body: ImagePipelineCreate) -> _Plan:
        """Every check that needs no image bytes; the URLs to fetch."""
        scenario: dict[str, Any] = {
            "modelId": self._model_id(body.model_id, family),
            "prompt": body.prompt,
            "negativePrompt": body.negative_prompt,
            "numSamples": body.samples,
            "numInferenceSteps": body.num_inference_steps,
            "guidance": body.guidance_scale,
            "width": body.width,
            "height": body.height,
            "seed": None if body.seed is None or body.seed == -1 else body.seed,
            "scheduler": body.scheduler,
        }
        webhook = body.webhook or None
        if webhook is not None:
            self.http.check(webhook, field="webhook")
        plan = _Plan(mode=Mode.TXT2IMG, scenario=scenario, webhook=webhook)
        names, face, style = body.ip_adapter, body.ip_adapter_image, body.ip_adapter_style_images
        refs, refs_field = (style, "ip_adapter_style_images") if style else (face, "ip_adapter_image")
        if names or refs:
            if not refs:
                raise InvalidRequest(
                    "ip_adapter needs ip_adapter_image or ip_adapter_style_images", field="ip_adapter_image"
                )
            check_ip_image_count(len(face) + len(style), field=refs_field)
        if body.init_image:
            plan.mode = Mode.IMG2IMG
            plan.init_url = body.init_image[0]
            scenario["strength"] = body.strength
        if refs:
            kinds = self._adapter_kinds(scenario["modelId"], names, face=bool(face), style=bool(style))
            scale_list = body.ip_adapter_scale
            if face and style:  # the face adapter with ip_adapter_image, the style adapter with the style images
                per_set = self._scales_per_set(kinds, scale_list)
                plan.sets = [
                    (IpAdapterType.CHARACTER.value, face, "ip_adapter_image", per_set[IpAdapterType.CHARACTER]),
                    (IpAdapterType.STYLE.value, style, "ip_adapter_style_images", per_set[IpAdapterType.STYLE]),
                ]
            elif len(kinds) > 1:
                raise InvalidRequest(
                    "ip_adapter names a face and a style adapter: send the face as ip_adapter_image and the style "
                    "references as ip_adapter_style_images",
                    field="ip_adapter_style_images" if face else "ip_adapter_image",
                )
            else:
                scenario["ipAdapterType"] = kinds[0].value
                plan.ref_urls, plan.refs_field = refs, refs_field
                if scale_list is not None:
                    scenario["ipAdapterScales"] = scale_list
            plan.mode = Mode.IMG2IMG_IP_ADAPTER if plan.mode == Mode.IMG2IMG else Mode.TXT2IMG_IP_ADAPTER
        return plan

    def _store(self, plan: _Plan, caller: Caller) -> dict[str, Any]:
        clean = {k: v for k, v in plan.scenario.items() if v is not None}
        _, response = self.inference.submit(
            plan.mode, clean, caller=caller, webhook_url=plan.webhook, api="imagepipeline"
        )
        return {"id": response["job"]["jobId"], "status": "PENDING"}

    def status(self, task_id: str, *, caller: Caller = LOCAL_CALLER) -> dict[str, Any]:
        """GET …/status/{id}, whatever the path prefix of the submission."""
        return status_body(self.jobs.get(task_id, owner_id=caller.project_id), self.signer)
