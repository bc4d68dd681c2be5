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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, TypeVar

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import IpAdapterType, Mode
from diffuserve.errors import InvalidRequest, NotFound
from diffuserve.service import coerce
from diffuserve.service.fetch import SafeHttp
from diffuserve.service.generation_body import check_ip_image_count
from diffuserve.service.inference import InferenceService
from diffuserve.service.signing import UrlSigner, asset_content_path
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


def _default(value: float | None, default: float) -> float:
    return default if value is None else value


def _names(value: Any) -> list[str]:
    """ip_adapter comes as a list or as a bracketed string like "[ip-adapter-plus-face_sd15]"."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\[\],\s\"']+", value) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidRequest("ip_adapter must be a list of adapter names", field="ip_adapter")


def _urls(value: Any, field: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [coerce.text(value, field)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [coerce.text(v, field) for v in value]
    raise InvalidRequest(f"{field} must be a URL or a list of URLs", field=field)


_N = TypeVar("_N", int, float)
# imagepipeline's documented ranges (its "IP Adapters" and SDXL base-model pages; spec §6.2).
RANGES: dict[str, tuple[float, float]] = {
    "samples": (1, 4),
    "num_inference_steps": (1, 100),
    "guidance_scale": (1.0, 20.0),
    "strength": (0.0, 1.0),
}


def _in_range(field: str, value: _N) -> _N:
    low, high = RANGES[field]
    if not low <= value <= high:
        raise InvalidRequest(
            f"{field} must be in [{low:g}, {high:g}] (imagepipeline's documented range), got {value:g}", field=field
        )
    return value


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

    def _model_id(self, body: Mapping[str, Any], family: str) -> str:
        model_id = coerce.as_str(body, "model_id")
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

    def _adapter_type(self, model_id: str, names: list[str], *, face: bool) -> IpAdapterType:
        """Which of the model's IP-Adapter sets the request names: a set's own file name (e.g.
        ip-adapter-plus-face_sd15), or a name with "face" for its character set and any other for its style set;
        without names, face images use the character set. A name the model cannot serve is a 400 listing what
        it has."""
        model = self.registry.get(model_id)
        sets = {t: PurePosixPath(s.weights).stem for t, s in model.ip_adapters.items()}
        listing = ", ".join(f"{stem} ({t.value})" for t, stem in sets.items()) or "none"
        wanted: set[IpAdapterType] = set()
        for name in names:
            by_file = next((t for t, stem in sets.items() if stem == name), None)
            kind = by_file or (IpAdapterType.CHARACTER if "face" in name.lower() else IpAdapterType.STYLE)
            if kind not in sets:
                raise InvalidRequest(
                    f"ip_adapter {name!r} is not available for model {model.id!r}; its IP-Adapters: {listing}",
                    field="ip_adapter",
                    reason="unknown_ip_adapter",
                )
            wanted.add(kind)
        if len(wanted) > 1:
            raise InvalidRequest(
                "a face adapter and a style adapter in one request are not supported yet; send one kind of adapter "
                f"(model {model.id!r} has: {listing})",
                field="ip_adapter",
            )
        if wanted:
            return wanted.pop()
        return IpAdapterType.CHARACTER if face and IpAdapterType.CHARACTER in sets else IpAdapterType.STYLE

    async def _data_url(self, url: str, field: str) -> str:
        if url.startswith("data:"):
            return url
        data = await self.http.fetch(url, field=field)
        return "data:application/octet-stream;base64," + base64.b64encode(data).decode()

    async def submit(self, family: str, body: Mapping[str, Any], *, author_id: str | None = None) -> dict[str, Any]:
        """POST /{sd,sdxl}/text2image/v1 -> {"id", "status": "PENDING"}."""
        plan = await asyncio.to_thread(self._plan, family, body)
        # Only now, with the request's shape checked, are the URLs fetched (together, without a thread each).
        fetched = await asyncio.gather(
            *([self._data_url(plan.init_url, "init_image")] if plan.init_url else []),
            *(self._data_url(u, plan.refs_field) for u in plan.ref_urls),
        )
        if plan.init_url:
            plan.scenario["image"] = fetched.pop(0)
        if plan.ref_urls:
            plan.scenario["ipAdapterImages"] = list(fetched)
        return await asyncio.to_thread(self._store, plan, author_id)

    def _plan(self, family: str, body: Mapping[str, Any]) -> _Plan:
        """Every check that needs no image bytes; the URLs to fetch."""
        if not isinstance(body, Mapping):
            raise InvalidRequest("the request body must be a JSON object", field="body")
        prompt = coerce.as_str(body, "prompt")
        if prompt is None:
            raise InvalidRequest("prompt is required", field="prompt", reason="missing_field")
        steps = body.get("num_inference_steps", body.get("num_inference_step"))
        seed = coerce.as_int(body, "seed")
        scenario: dict[str, Any] = {
            "modelId": self._model_id(body, family),
            "prompt": prompt,
            "negativePrompt": coerce.as_str(body, "negative_prompt"),
            "numSamples": _in_range("samples", _default(coerce.as_int(body, "samples"), 1)),
            "numInferenceSteps": _in_range(
                "num_inference_steps",
                _default(coerce.as_int({"num_inference_steps": steps}, "num_inference_steps"), 20),
            ),
            "guidance": _in_range("guidance_scale", _default(coerce.as_float(body, "guidance_scale"), 7.5)),
            "width": coerce.as_int(body, "width"),
            "height": coerce.as_int(body, "height"),
            "seed": None if seed is None or seed == -1 else seed,
            "scheduler": coerce.as_str(body, "scheduler"),
        }
        if body.get("server_id") not in (None, ""):
            raise InvalidRequest(
                "server_id names an imagepipeline dedicated server; this server runs every request itself, so "
                "leave server_id out",
                field="server_id",
            )
        webhook = coerce.as_str(body, "webhook") or None
        if webhook is not None:
            self.http.check(webhook, field="webhook")
        plan = _Plan(mode=Mode.TXT2IMG, scenario=scenario, webhook=webhook)
        init = _urls(body.get("init_image"), "init_image")
        names = _names(body.get("ip_adapter"))
        face = _urls(body.get("ip_adapter_image"), "ip_adapter_image")
        style = _urls(body.get("ip_adapter_style_images"), "ip_adapter_style_images")
        refs, refs_field = (style, "ip_adapter_style_images") if style else (face, "ip_adapter_image")
        if names or refs:
            if face and style:
                raise InvalidRequest(
                    "ip_adapter_image (face) together with ip_adapter_style_images is not supported; "
                    "send one kind of reference per request",
                    field="ip_adapter_style_images",
                )
            if not refs:
                raise InvalidRequest(
                    "ip_adapter needs ip_adapter_image or ip_adapter_style_images", field="ip_adapter_image"
                )
            check_ip_image_count(len(refs), field=refs_field)
        if init:
            plan.mode = Mode.IMG2IMG
            plan.init_url = init[0]
            strength = coerce.as_float(body, "strength")
            scenario["strength"] = None if strength is None else _in_range("strength", strength)
        if refs:
            scenario["ipAdapterType"] = self._adapter_type(scenario["modelId"], names, face=bool(face)).value
            plan.ref_urls, plan.refs_field = refs, refs_field
            scales = body.get("ip_adapter_scale")
            if scales is not None:
                scale_list = scales if isinstance(scales, list) else [scales]
                scenario["ipAdapterScales"] = coerce.as_float_list({"ip_adapter_scale": scale_list}, "ip_adapter_scale")
            plan.mode = Mode.IMG2IMG_IP_ADAPTER if plan.mode == Mode.IMG2IMG else Mode.TXT2IMG_IP_ADAPTER
        return plan

    def _store(self, plan: _Plan, author_id: str | None) -> dict[str, Any]:
        clean = {k: v for k, v in plan.scenario.items() if v is not None}
        _, response = self.inference.submit(
            plan.mode, clean, author_id=author_id, webhook_url=plan.webhook, api="imagepipeline"
        )
        return {"id": response["job"]["jobId"], "status": "PENDING"}

    def status(self, task_id: str) -> dict[str, Any]:
        """GET …/status/{id}, whatever the path prefix of the submission."""
        return status_body(self.jobs.get(task_id), self.signer)
