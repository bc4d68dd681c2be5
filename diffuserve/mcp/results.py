"""Tool results: JSON text for the agent, small image previews, and errors worded like the REST API's."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult, ContentBlock, ImageContent, TextContent
from PIL import Image

from diffuserve.errors import DiffuserveError
from diffuserve.service.services import Services

if TYPE_CHECKING:
    from diffuserve.mcp.context import ToolCall

# Previews keep a response small (a 256 px JPEG is ~10-20 kB); the full-size file is at the asset's URL.
PREVIEW_PX = 256
MAX_PREVIEWS = 8
_JPEG_QUALITY = 85


def text_result(
    summary: str, payload: Any, *, images: list[ImageContent] | None = None, compact: bool = False
) -> CallToolResult:
    """A summary line, the JSON payload (on one line when `compact`), then any previews."""
    data = json.dumps(payload) if compact else json.dumps(payload, indent=2)
    text = f"{summary}\n\n{data}" if summary else data
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    content.extend(images or [])
    return CallToolResult(content=content)


def error_result(exc: DiffuserveError, *, hint: str | None = None) -> CallToolResult:
    """`reason: message` first (the REST API's error body, same words), then the body as JSON."""
    body: dict[str, Any] = {"reason": exc.reason, "message": exc.message}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    text = f"{exc.reason}: {exc.message}"
    if hint:
        text += f"\n{hint}"
    text += f"\n\n{json.dumps(body)}"
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def preview(data: bytes, *, px: int = PREVIEW_PX) -> ImageContent:
    """The image scaled down to fit `px` (never up): JPEG, or PNG when it has transparency."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
        small = image.convert("RGBA" if has_alpha else "RGB")
    small.thumbnail((px, px), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if has_alpha:
        small.save(buf, format="PNG", optimize=True)
        mime = "image/png"
    else:
        small.save(buf, format="JPEG", quality=_JPEG_QUALITY)
        mime = "image/jpeg"
    return ImageContent(type="image", data=base64.b64encode(buf.getvalue()).decode(), mime_type=mime)


def _image_entry(asset: dict[str, Any], file: dict[str, Any] | None) -> dict[str, Any]:
    props = asset.get("properties", {})
    entry = {"assetId": asset["id"], "url": asset["url"], "width": props.get("width"), "height": props.get("height")}
    if file is not None:
        entry["path"] = file["path"]
    return entry


async def previews_of(services: Services, asset_ids: list[str]) -> list[ImageContent]:
    def build() -> list[ImageContent]:
        return [preview(services.assets.read(asset_id)[0]) for asset_id in asset_ids[:MAX_PREVIEWS]]

    return await asyncio.to_thread(build)


async def job_result(call: ToolCall, job: dict[str, Any], *, extra: dict[str, Any] | None = None) -> CallToolResult:
    """A job as it stands: images and previews once it succeeded (over stdio also their files), a follow-up
    instruction otherwise."""
    services = call.services
    job_id, status = job["jobId"], job["status"]
    payload: dict[str, Any] = {"job": job, **(extra or {})}
    if status == "failure":
        error = job["metadata"]["output"].get("error") or "the generation failed"
        failed = DiffuserveError(f"job {job_id} failed: {error}", reason="job_failed")
        result = error_result(failed, hint="Nothing to retrieve; fix the arguments or try another model.")
        result.content.append(TextContent(type="text", text=json.dumps(payload, indent=2)))
        return result
    if status == "canceled":
        payload["next"] = "The job was canceled and made no images; call the generate tool again to start over."
        return text_result(f"Job {job_id} was canceled.", payload)
    if status != "success":
        percent = round(100 * float(job.get("progress") or 0))
        payload["next"] = (
            f"Call get-job-id with jobId={job_id} to wait for it and get the images. Do not call the generate "
            "tool again: that would queue a second job."
        )
        return text_result(f"Job {job_id} is still {status} ({percent}%). {call.still_running_note()}", payload)
    asset_ids: list[str] = list(job["metadata"]["assetIds"])
    assets = await asyncio.to_thread(lambda: [services.assets.get(a, caller=call.caller)["asset"] for a in asset_ids])
    files = await call.local_files(asset_ids)
    payload["images"] = [_image_entry(a, files[i] if files else None) for i, a in enumerate(assets)]
    shown = min(len(asset_ids), MAX_PREVIEWS)
    where = (
        "the full-size files are on this machine at images[].path (images[].url is their file:// URL)"
        if files
        else "the full-size files are at images[].url"
    )
    payload["next"] = (
        f"Showing {shown} of {len(asset_ids)} images as previews (at most {PREVIEW_PX} px); {where}. To refine "
        "one, pass its assetId as `image` to post-img2img-inferences or post-inpaint-inferences."
    )
    summary = f"Job {job_id} succeeded with {len(asset_ids)} image(s)."
    return text_result(summary, payload, images=await previews_of(services, asset_ids))
