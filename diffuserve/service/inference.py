"""POST /generate/{mode}: check everything, then store inputs as assets, store the job and queue it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from PIL import Image

from diffuserve.catalog import validation
from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import Mode, ResolvedRequest
from diffuserve.crashpoints import pause_point
from diffuserve.errors import InvalidRequest, NotFound
from diffuserve.jobs.client import JobClient
from diffuserve.jobs.inputs import InputImages, build_request
from diffuserve.service.cost import creative_units
from diffuserve.service.generate_schemas import GenerateBody
from diffuserve.service.generation_body import ParsedGeneration, parse_generation
from diffuserve.service.images import ImageRef
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.quotas import Limits, check_capacity, check_prompts, check_work
from diffuserve.service.signing import UrlSigner, asset_content_path
from diffuserve.service.wire import job_wire
from diffuserve.service.wire_fields import refuse_unknown
from diffuserve.storage.asset_store import AssetStore, NewAsset, decode_image
from diffuserve.storage.ids import new_job_id
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import AssetRecord

logger = logging.getLogger(__name__)

DRY_RUN_STATUS = 269


class InferenceService:
    def __init__(
        self,
        *,
        registry: Registry,
        jobs: JobRepository,
        assets: AssetStore,
        queue: JobClient,
        signer: UrlSigner,
        strict_fields: bool = False,
        limits: Limits | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.strict_fields = strict_fields  # unknown fields are a 400 instead of a warning
        self.registry = registry
        self.jobs = jobs
        self.assets = assets
        self.queue = queue
        self.signer = signer

    def submit(
        self,
        mode: Mode,
        body: Mapping[str, Any] | GenerateBody,
        *,
        dry_run: bool = False,
        original_assets: bool = False,
        caller: Caller = LOCAL_CALLER,
        webhook_url: str | None = None,
        api: str = "scenario",
    ) -> tuple[int, dict[str, Any]]:
        """(200, {job, inference, creativeUnitsCost}) or (269, {creativeUnitsCost}); nothing is stored before
        the request has passed every check."""
        mode = Mode(mode)
        caller.may_write()
        author, owner = caller.key_id, caller.project_id
        # 1. Read the wire fields (types, precedence, required inputs).
        parsed = parse_generation(mode, body)
        check_prompts(self.limits, prompt=parsed.fields["prompt"], negativePrompt=parsed.fields["negativePrompt"])
        if self.strict_fields:
            refuse_unknown(list(parsed.warnings))
        if parsed.image_parent_id is not None:
            self._check_parent(parsed.image_parent_id, owner)
        # 2. Decode every input image (asset ids must exist in the caller's project).
        images = InputImages(
            image=self._load(parsed.image, owner),
            mask=self._load(parsed.mask, owner),
            ip_adapter_images=tuple(self._load_required(ref, owner) for ref in parsed.ip_adapter_images),
            ip_adapter_sets=tuple(
                tuple(self._load_required(ref, owner) for ref in refs) for refs in parsed.ip_adapter_sets
            ),
        )
        # 3. Check the request against the model (capabilities included) and fill in the defaults; then what it
        # costs against the request budget, the queue and the project's quotas.
        resolved = validation.validate(self.registry, build_request(mode, parsed.fields, images))
        work = check_work(self.limits, resolved)
        cost = creative_units(resolved)
        warnings = {"warnings": list(parsed.warnings)} if parsed.warnings else {}
        if dry_run:
            return DRY_RUN_STATUS, {"creativeUnitsCost": cost, **warnings}
        check_capacity(self.limits, self.jobs, project_id=owner, work=work)
        # 4. Inline images become assets, pending until the job that refers to them by id is stored.
        staged: list[AssetRecord] = []
        try:
            image_id = self._materialize(parsed.image, parsed, caller, staged, parent=parsed.image_parent_id)
            mask_id = self._materialize(parsed.mask, parsed, caller, staged, parent=image_id)
            ip_ids = [self._materialize(ref, parsed, caller, staged, parent=None) for ref in parsed.ip_adapter_images]
            set_ids = [
                [self._materialize(ref, parsed, caller, staged, parent=None) for ref in refs]
                for refs in parsed.ip_adapter_sets
            ]
            stored = self._stored_input(mode, parsed, resolved, image_id, mask_id, ip_ids, set_ids)
            pause_point("inputs.staged")
            # 5. Store the job (its inline images become live with it), then wake the queue.
            job = self.jobs.insert(
                job_id=new_job_id(),
                mode=mode.value,
                input=stored,
                author_id=author,
                owner_id=owner,
                hide_results=parsed.hide_results,
                webhook_url=webhook_url,
                api=api,
                live_assets=[a.id for a in staged],
            )
        except BaseException:
            self.assets.discard(staged)
            raise
        self.queue.submit(job.id)
        logger.info(
            "job queued job_id=%s mode=%s model_id=%s samples=%d",
            job.id,
            mode.value,
            stored["modelId"],
            stored["numSamples"],
        )
        return 200, {
            "job": job_wire(job, self.signer),
            "inference": self._echo(stored),
            "creativeUnitsCost": cost,
            **warnings,
        }

    def _check_parent(self, asset_id: str, owner: str) -> None:
        try:
            self.assets.get(asset_id, owner_id=owner)
        except NotFound:
            raise InvalidRequest(
                f"imageParentId {asset_id!r} names no asset; give the id of an existing asset or leave it out",
                field="imageParentId",
                reason="asset_not_found",
            ) from None

    def _load(self, ref: ImageRef | None, owner: str) -> Image.Image | None:
        return None if ref is None else self._load_required(ref, owner)

    def _load_required(self, ref: ImageRef, owner: str) -> Image.Image:
        if ref.asset_id is not None:
            return self.assets.load_image(ref.asset_id, field_name=ref.field, owner_id=owner)
        assert ref.data is not None
        return decode_image(ref.data, field_name=ref.field)

    def _materialize(
        self,
        ref: ImageRef | None,
        parsed: ParsedGeneration,
        caller: Caller,
        staged: list[AssetRecord],
        *,
        parent: str | None,
    ) -> str | None:
        if ref is None:
            return None
        if ref.asset_id is not None:
            return ref.asset_id
        assert ref.data is not None
        record = self.assets.stage(
            ref.data,
            NewAsset(
                name=f"{ref.field.split('[')[0]}.png",
                source="uploaded",
                asset_type="uploaded",
                author_id=caller.key_id,
                owner_id=caller.project_id,
                hidden=parsed.image_hide,
                parent_id=parent,
            ),
        )
        staged.append(record)
        return record.id

    @staticmethod
    def _stored_input(
        mode: Mode,
        parsed: ParsedGeneration,
        resolved: ResolvedRequest,
        image_id: str | None,
        mask_id: str | None,
        ip_ids: list[str | None],
        set_ids: list[list[str | None]],
    ) -> dict[str, Any]:
        """The normalized request, every default resolved (seed too), so a re-run makes the same images."""
        f = parsed.fields
        stored: dict[str, Any] = {
            "type": mode.capability,
            "modelId": f["modelId"],
            "prompt": f["prompt"],
            "seed": str(resolved.seed),
            "numSamples": resolved.request.num_samples,
            "numInferenceSteps": resolved.num_inference_steps,
            "guidance": resolved.guidance,
            "width": resolved.width,
            "height": resolved.height,
            "scheduler": resolved.scheduler,
            "hideResults": parsed.hide_results,
            "intermediateImages": bool(f["intermediateImages"]),
        }
        if f.get("negativePrompt"):
            stored["negativePrompt"] = f["negativePrompt"]
        if f.get("concepts"):
            stored["concepts"] = f["concepts"]
        for name in ("baseModelId", "modelEpoch", "negativePromptStrength", "aspectRatio"):
            if f.get(name) is not None:
                stored[name] = f[name]
        if mode.uses_image:
            stored["imageId"] = image_id
            stored["strength"] = resolved.strength
        if mode.uses_mask:
            stored["maskId"] = mask_id
            stored["disableMerging"] = bool(f.get("disableMerging"))
        elif mask_id is not None:
            stored["maskId"] = mask_id
        if mode.uses_ip_adapter and set_ids:  # several sets: each with its images and resolved scales
            stored["ipAdapters"] = [
                {"type": use.type.value, "imageIds": ids, "scales": list(use.scales)}
                for use, ids in zip(resolved.ip_adapters, set_ids, strict=True)
            ]
        elif mode.uses_ip_adapter:
            stored["ipAdapterImageIds"] = ip_ids
            stored["ipAdapterScales"] = list(resolved.ip_adapter_scales)
            stored["ipAdapterType"] = f["ipAdapterType"]
        return stored

    def _echo(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The `inference` object: the stored input plus signed URLs of the input images (spec §4.3)."""
        echo = dict(stored)
        if stored.get("imageId"):
            echo["image"] = self.signer.sign(asset_content_path(stored["imageId"]))
        if stored.get("maskId"):
            echo["mask"] = self.signer.sign(asset_content_path(stored["maskId"]))
        if stored.get("ipAdapters"):
            echo["ipAdapters"] = [
                {**entry, "images": [self.signer.sign(asset_content_path(a)) for a in entry["imageIds"]]}
                for entry in stored["ipAdapters"]
            ]
        if stored.get("ipAdapterImageIds"):
            urls = [self.signer.sign(asset_content_path(a)) for a in stored["ipAdapterImageIds"]]
            echo["ipAdapterImages"] = urls
            echo["ipAdapterImage"] = urls[0]
            echo["ipAdapterImageId"] = stored["ipAdapterImageIds"][0]
            echo["ipAdapterScale"] = stored["ipAdapterScales"][0]
        return echo
