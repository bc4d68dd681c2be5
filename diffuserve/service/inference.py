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
from diffuserve.service.generation_body import ParsedGeneration, parse_generation
from diffuserve.service.images import ImageRef
from diffuserve.service.keys import LOCAL_AUTHOR
from diffuserve.service.signing import UrlSigner, asset_content_path
from diffuserve.service.wire import job_wire
from diffuserve.service.wire_fields import refuse_unknown
from diffuserve.storage.asset_store import AssetStore, NewAsset, decode_image
from diffuserve.storage.ids import new_job_id
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import AssetRecord

logger = logging.getLogger(__name__)

OWNER_ID = "proj_diffuserve"
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
    ) -> None:
        self.strict_fields = strict_fields  # unknown fields are a 400 instead of a warning
        self.registry = registry
        self.jobs = jobs
        self.assets = assets
        self.queue = queue
        self.signer = signer

    def submit(
        self,
        mode: Mode,
        body: Mapping[str, Any],
        *,
        dry_run: bool = False,
        original_assets: bool = False,
        author_id: str | None = None,
        webhook_url: str | None = None,
        api: str = "scenario",
    ) -> tuple[int, dict[str, Any]]:
        """(200, {job, inference, creativeUnitsCost}) or (269, {creativeUnitsCost}); nothing is stored before
        the request has passed every check."""
        mode = Mode(mode)
        author = author_id or LOCAL_AUTHOR
        # 1. Read the wire fields (types, precedence, required inputs).
        parsed = parse_generation(mode, body)
        if self.strict_fields:
            refuse_unknown(list(parsed.warnings))
        if parsed.image_parent_id is not None:
            self._check_parent(parsed.image_parent_id)
        # 2. Decode every input image (asset ids must exist).
        images = InputImages(
            image=self._load(parsed.image),
            mask=self._load(parsed.mask),
            ip_adapter_images=tuple(self._load_required(ref) for ref in parsed.ip_adapter_images),
        )
        # 3. Check the request against the model (capabilities included) and fill in the defaults.
        resolved = validation.validate(self.registry, build_request(mode, parsed.fields, images))
        cost = creative_units(resolved)
        warnings = {"warnings": list(parsed.warnings)} if parsed.warnings else {}
        if dry_run:
            return DRY_RUN_STATUS, {"creativeUnitsCost": cost, **warnings}
        # 4. Inline images become assets, pending until the job that refers to them by id is stored.
        staged: list[AssetRecord] = []
        try:
            image_id = self._materialize(parsed.image, parsed, author, staged, parent=parsed.image_parent_id)
            mask_id = self._materialize(parsed.mask, parsed, author, staged, parent=image_id)
            ip_ids = [self._materialize(ref, parsed, author, staged, parent=None) for ref in parsed.ip_adapter_images]
            stored = self._stored_input(mode, parsed, resolved, image_id, mask_id, ip_ids)
            pause_point("inputs.staged")
            # 5. Store the job (its inline images become live with it), then wake the queue.
            job = self.jobs.insert(
                job_id=new_job_id(),
                mode=mode.value,
                input=stored,
                author_id=author,
                owner_id=OWNER_ID,
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

    def _check_parent(self, asset_id: str) -> None:
        try:
            self.assets.get(asset_id)
        except NotFound:
            raise InvalidRequest(
                f"imageParentId {asset_id!r} names no asset; give the id of an existing asset or leave it out",
                field="imageParentId",
                reason="asset_not_found",
            ) from None

    def _load(self, ref: ImageRef | None) -> Image.Image | None:
        return None if ref is None else self._load_required(ref)

    def _load_required(self, ref: ImageRef) -> Image.Image:
        if ref.asset_id is not None:
            return self.assets.load_image(ref.asset_id, field_name=ref.field)
        assert ref.data is not None
        return decode_image(ref.data, field_name=ref.field)

    def _materialize(
        self,
        ref: ImageRef | None,
        parsed: ParsedGeneration,
        author: str,
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
                author_id=author,
                owner_id=OWNER_ID,
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
        if mode.uses_ip_adapter:
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
        if stored.get("ipAdapterImageIds"):
            urls = [self.signer.sign(asset_content_path(a)) for a in stored["ipAdapterImageIds"]]
            echo["ipAdapterImages"] = urls
            echo["ipAdapterImage"] = urls[0]
            echo["ipAdapterImageId"] = stored["ipAdapterImageIds"][0]
            echo["ipAdapterScale"] = stored["ipAdapterScales"][0]
        return echo
