"""What a finished job leaves: its output images as assets (PNG with parameters), and the preview blob keys."""

from __future__ import annotations

from typing import Any

from diffuserve.catalog.infotext import png_info
from diffuserve.catalog.types import GenerationResult, Mode
from diffuserve.storage.asset_store import AssetStore, NewAsset, png_bytes
from diffuserve.storage.records import AssetRecord, JobRecord

# Asset `source` per mode (spec §4.4).
SOURCE_BY_MODE = {
    Mode.TXT2IMG: "inference-txt",
    Mode.TXT2IMG_IP_ADAPTER: "inference-txt-ip-adapter",
    Mode.IMG2IMG: "inference-img",
    Mode.IMG2IMG_IP_ADAPTER: "inference-img-ip-adapter",
    Mode.INPAINT: "inference-in-paint",
    Mode.INPAINT_IP_ADAPTER: "inference-in-paint-ip-adapter",
}


def preview_key(job_id: str, index: int) -> str:
    return f"previews/{job_id}/{index}.png"


def store_outputs(assets: AssetStore, job: JobRecord, mode: Mode, result: GenerationResult) -> list[AssetRecord]:
    """Each image as a pending asset with its seed and parameters (PNG text: A1111's infotext and JSON; asset
    metadata). They become live with the job's success (one transaction), so a crash before it orphans nothing."""
    inp = job.input
    resolved = result.resolved
    stored: list[AssetRecord] = []
    for generated in result.images:
        info = png_info(resolved, generated.seed, modelId=inp["modelId"])
        metadata: dict[str, Any] = {
            "inferenceId": job.id,
            "parentJobId": job.id,
            "modelId": inp["modelId"],
            "modelType": resolved.model_type,
            "prompt": resolved.request.prompt,
            "seed": str(generated.seed),
            "guidance": resolved.guidance,
            "scheduler": resolved.scheduler,
            "outputIndex": generated.index,
            "name": f"{job.id}_{generated.index}.png",
        }
        # The spec's Asset schema bounds these keys for other tools (numInferenceSteps 5..50, width
        # >= 1024); values outside are left out here and stay in the job input and the asset properties.
        if 5 <= resolved.num_inference_steps <= 50:
            metadata["numInferenceSteps"] = resolved.num_inference_steps
        if resolved.request.negative_prompt:
            metadata["negativePrompt"] = resolved.request.negative_prompt
        if mode.uses_image:
            metadata["strength"] = resolved.strength
        if inp.get("maskId"):
            metadata["mask"] = inp["maskId"]
        if inp.get("ipAdapterImageIds"):
            metadata["referenceImages"] = list(inp["ipAdapterImageIds"])
        if inp.get("concepts"):
            metadata["concepts"] = list(inp["concepts"])
        record = assets.stage(
            png_bytes(generated.image, info),
            NewAsset(
                name=metadata["name"],
                source=SOURCE_BY_MODE[mode],
                asset_type=f"inference-{mode.value}",
                author_id=job.author_id,
                owner_id=job.owner_id,
                hidden=job.hide_results,
                parent_id=inp.get("imageId"),
                inference_id=job.id,
                model_id=str(inp["modelId"]),
                output_index=generated.index,
                metadata=metadata,
            ),
            image=generated.image,
        )
        stored.append(record)
    return stored
