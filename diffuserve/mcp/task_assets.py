"""The task-level asset tools: asset_get, asset_display, asset_download, upload_asset, upload_asset_complete.

Over stdio the server shares the client's disk: asset_download can write the file (`save_to`) and upload_asset
can read one (`path`); over HTTP those arguments do not exist.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
from pathlib import Path
from typing import Any

from mcp_types import CallToolResult, TextContent

from diffuserve.errors import Conflict, InvalidRequest
from diffuserve.mcp.context import ToolCall, Transport, looks_like_path, read_local_file, refuse_local_path
from diffuserve.mcp.registration import ToolSpec
from diffuserve.mcp.results import preview, text_result
from diffuserve.mcp.task_results import READ_ONLY, WRITES
from diffuserve.mcp.task_schemas import (
    AssetDisplayArguments,
    AssetDownloadArguments,
    AssetDownloadLocalArguments,
    AssetGetArguments,
    UploadAssetArguments,
    UploadAssetCompleteArguments,
    UploadAssetLocalArguments,
)
from diffuserve.service.downloads import RENDITIONS
from diffuserve.service.request_schemas import TARGET_FORMATS, AssetCreate, DownloadRequest, UploadCreate
from diffuserve.service.wire_types import validate_model

DISPLAY_PX = 512  # asset_display shows one image the user asked to see: larger than the generate tools' previews
PART_BYTES = 8 * 1024 * 1024  # multipart uploads: the size of every part but the last
_USE_IT = "Pass asset_id as an image parameter of model_run (e.g. parameters.image)."


async def asset_get(call: ToolCall, args: AssetGetArguments) -> CallToolResult:
    return text_result(
        "", await asyncio.to_thread(call.services.assets.get, args.asset_id, caller=call.caller), compact=True
    )


async def asset_display(call: ToolCall, args: AssetDisplayArguments) -> CallToolResult:
    asset = (await asyncio.to_thread(call.services.assets.get, args.asset_id, caller=call.caller))["asset"]
    if args.format == "json":
        return text_result("", {"asset": asset}, compact=True)
    props = asset["properties"]
    name = asset["metadata"].get("name") or asset["id"]
    size = f"{props['width']}x{props['height']} px"
    if args.format in ("markdown", "viewer"):
        text = f"![{name}]({asset['url']})\n\n`{asset['id']}`, {size}; the link needs no credentials."
        return CallToolResult(content=[TextContent(type="text", text=text)])
    data, _ = await asyncio.to_thread(call.services.assets.read, asset["id"])
    image = await asyncio.to_thread(preview, data, px=DISPLAY_PX)
    payload = {"asset_id": asset["id"], "width": props["width"], "height": props["height"], "url": asset["url"]}
    files = await call.local_files([asset["id"]])
    if files:
        payload["path"] = files[0]["path"]
    summary = f"{name}, {size} (shown at most {DISPLAY_PX} px; full size at {'path' if files else 'url'})."
    return text_result(summary, payload, images=[image], compact=True)


def _download_bytes(call: ToolCall, asset_id: str, target: str | None) -> tuple[bytes, str]:
    data, mime = call.services.assets.read(asset_id)
    fmt = TARGET_FORMATS.get(target.strip().lower()) if target else None
    if fmt is not None and RENDITIONS[fmt][1] != mime:
        return call.services.downloads.render(asset_id, fmt)
    return data, mime


def _save(path_text: str, asset_id: str, data: bytes, mime: str) -> Path:
    path = Path(path_text.removeprefix("file://")).expanduser()
    if path.is_dir():
        path = path / f"{asset_id}{mimetypes.guess_extension(mime) or '.png'}"
    if not path.is_absolute():
        raise InvalidRequest(f"save_to must be an absolute path, got {path_text!r}", field="save_to")
    if not path.parent.is_dir():
        raise InvalidRequest(f"save_to: folder {str(path.parent)!r} does not exist", field="save_to")
    if path.exists():
        raise Conflict(f"save_to: {str(path)!r} exists already; pick another name", reason="file_exists")
    path.write_bytes(data)
    return path


async def asset_download(call: ToolCall, args: AssetDownloadArguments) -> CallToolResult:
    body = validate_model(DownloadRequest, {"targetFormat": args.format})
    found = await asyncio.to_thread(call.services.downloads.request, args.asset_id, body, caller=call.caller)
    payload: dict[str, Any] = {"asset_id": args.asset_id, "url": found["url"], "mime_type": found["mimeType"]}
    save_to = getattr(args, "save_to", None)
    if save_to:
        data, mime = await asyncio.to_thread(_download_bytes, call, args.asset_id, args.format)
        path = await asyncio.to_thread(_save, save_to, args.asset_id, data, mime)
        payload.update(saved_to=str(path), bytes=len(data))
        return text_result(f"Saved {len(data)} bytes to {path}.", payload, compact=True)
    if call.outputs is not None:  # stdio: the file itself, in the outputs folder
        outputs = call.outputs
        fmt = TARGET_FORMATS.get(args.format.strip().lower()) if args.format else None
        path = await asyncio.to_thread(
            lambda: outputs.rendition_file(args.asset_id, fmt) if fmt else outputs.asset_file(args.asset_id)
        )
        payload.update(path=str(path), url=path.as_uri())
        payload["next"] = "The file is at path on this machine; save_to copies it where you want."
        return text_result("", payload, compact=True)
    payload["next"] = "Save it with: curl -L -o <file> '<url>' (no credentials needed; the link expires)."
    return text_result("", payload, compact=True)


def _upload_data(call: ToolCall, args: UploadAssetArguments) -> str | None:
    """The file as base64 or a data URL: from `path` (stdio), or `data` (a local path there too over stdio)."""
    path = getattr(args, "path", None)
    if path:
        _, raw = read_local_file(path, field_name="path")
        return base64.b64encode(raw).decode()
    if not args.data:
        return None
    text = args.data.strip()
    if text.startswith("data:"):
        return text
    if call.transport == "stdio" and looks_like_path(text):
        _, raw = read_local_file(text, field_name="data")
        return base64.b64encode(raw).decode()
    if call.transport == "http" and looks_like_path(text):
        raise refuse_local_path("data")
    return f"data:{args.content_type};base64,{text}" if args.content_type else text


def _multipart(call: ToolCall, args: UploadAssetArguments, size: int) -> dict[str, Any]:
    content_type = args.content_type or mimetypes.guess_type(args.file_name)[0]
    body = {
        "fileName": args.file_name,
        "contentType": content_type,
        "fileSize": size,
        "kind": "image",
        "parts": max(1, -(-size // PART_BYTES)),
    }
    _, created = call.services.uploads.create(validate_model(UploadCreate, body), caller=call.caller)
    upload = created["upload"]
    return {
        "upload_id": upload["id"],
        "part_size": PART_BYTES,
        "parts": [{"number": part["number"], "url": part["url"]} for part in upload["parts"]],
        "instructions": f"PUT the file's bytes to each part url in order, {PART_BYTES} bytes per part (the last "
        "one shorter), e.g. curl -X PUT --data-binary @<file> '<url>' for a single part, or split -b "
        f"{PART_BYTES} <file> part_ first; no credentials needed. Then call upload_asset_complete with "
        "upload_id.",
    }


async def upload_asset(call: ToolCall, args: UploadAssetArguments) -> CallToolResult:
    if args.kind.strip().lower() != "image":
        raise InvalidRequest(
            f"kind {args.kind!r} is not supported: this server stores images only",
            field="kind",
            reason="unsupported_kind",
        )
    image = _upload_data(call, args)
    if image is None:
        if call.transport == "stdio":  # part URLs would lead to an HTTP server that stdio does not run
            raise InvalidRequest(
                "path (a local file) or data (base64 or a data URL) is required; over stdio there are no upload "
                "URLs to PUT parts to",
                field="path",
                reason="missing_field",
            )
        if args.file_size is None:
            raise InvalidRequest(
                "data is required (the file as base64 or a data URL), or file_size for a multipart upload",
                field="data",
                reason="missing_field",
            )
        payload = await asyncio.to_thread(_multipart, call, args, args.file_size)
        return text_result(f"Upload {payload['upload_id']} is waiting for its parts.", payload, compact=True)
    body = validate_model(AssetCreate, {"name": args.file_name, "image": image})
    asset = (await asyncio.to_thread(call.services.assets.upload, body, caller=call.caller))["asset"]
    props = asset["properties"]
    payload = {"asset_id": asset["id"], "width": props["width"], "height": props["height"], "next": _USE_IT}
    return text_result(f"Stored asset {asset['id']}.", payload, compact=True)


async def upload_asset_complete(call: ToolCall, args: UploadAssetCompleteArguments) -> CallToolResult:
    upload = (await asyncio.to_thread(call.services.uploads.complete, args.upload_id, caller=call.caller))["upload"]
    payload = {"upload_id": upload["id"], "asset_id": upload.get("entityId"), "status": upload["status"]}
    return text_result(f"Stored asset {payload['asset_id']}.", {**payload, "next": _USE_IT}, compact=True)


def asset_specs(transport: Transport) -> list[ToolSpec[Any]]:
    local = transport == "stdio"
    download_args = AssetDownloadLocalArguments if local else AssetDownloadArguments
    upload_args = UploadAssetLocalArguments if local else UploadAssetArguments
    return [
        ToolSpec(
            "asset_display",
            "Show an asset",
            f"Show an image to the user inline (scaled to at most {DISPLAY_PX} px) with its full-size link. Use "
            "it instead of pasting asset URLs.",
            AssetDisplayArguments,
            asset_display,
            READ_ONLY,
        ),
        ToolSpec(
            "asset_get",
            "Get an asset",
            "An asset's record: url, properties (width, height, size), metadata (prompt, seed, modelId, "
            "referenceImages), parentId.",
            AssetGetArguments,
            asset_get,
            READ_ONLY,
        ),
        ToolSpec(
            "asset_download",
            "Download an asset",
            (
                "An asset as a file on this machine (path, in the outputs folder), optionally converted to another "
                "format; with save_to, also writes a copy there."
                if local
                else "A signed file URL of an asset (no credentials needed), optionally converted to another "
                "format; save it with curl -L."
            ),
            download_args,
            asset_download,
            WRITES if local else READ_ONLY,
        ),
        ToolSpec(
            "upload_asset",
            "Upload an image",
            "Store an image and get its asset_id for model_run. Send "
            + (
                "`path` to a local file, or `data` (base64 or a data URL)."
                if local
                else "`data` (base64 or a data URL); or, for a large file, file_size and content_type without "
                "data: returns part URLs to PUT, then upload_asset_complete."
            ),
            upload_args,
            upload_asset,
            WRITES,
        ),
        ToolSpec(
            "upload_asset_complete",
            "Finish an upload",
            "After every part of a multipart upload_asset was PUT: checks the image and stores it; returns asset_id.",
            UploadAssetCompleteArguments,
            upload_asset_complete,
            WRITES,
        ),
    ]
