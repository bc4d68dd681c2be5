"""Over stdio no HTTP server runs, so the signed `http://…/v1/assets/…` URLs of the service layer lead nowhere.
There the images a tool mentions are files in an outputs folder instead (default `<data_dir>/outputs`): generated
images as `<job_id>_<index>.png`, other assets as `<asset_id>.<ext>`, written on first mention, never overwritten.
Results list them as `files` (`path` and `file_url`), and every signed URL in a result's text becomes the
`file://` URL of its file. The HTTP transport keeps its signed URLs."""

from __future__ import annotations

import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from mcp_types import CallToolResult, TextContent

from diffuserve.errors import DiffuserveError
from diffuserve.service.services import Services

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/tiff": ".tiff"}


def _extension(mime: str) -> str:
    return _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin"


def _write_new(path: Path, data: bytes) -> None:
    """Atomically, so an agent never opens half a file; an existing file is left as it is."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class LocalOutputs:
    """The stdio transport's files: one per asset (and rendition, and running job's preview) a result mentions."""

    def __init__(self, services: Services, folder: Path) -> None:
        self.services = services
        self.folder = folder.expanduser().resolve()
        base = re.escape(services.signer.base_url)
        self._signed = re.compile(
            base + r"/v1/(?:assets/(?P<asset>[\w-]+)/content(?:/(?P<fmt>\w+))?|jobs/(?P<job>[\w-]+)/previews/"
            r"(?P<index>\d+))\?expires=\d+&sig=[0-9a-f]+"
        )

    def _stem(self, asset_id: str) -> tuple[str, str]:
        """(file name without extension, mime type) of an asset: generated images by job and index."""
        asset = self.services.assets.get(asset_id)["asset"]
        metadata = asset.get("metadata", {})
        job_id, index = metadata.get("inferenceId"), asset.get("outputIndex", metadata.get("outputIndex"))
        stem = f"{job_id}_{index}" if job_id and index is not None else asset_id
        return _SAFE.sub("_", stem), str(asset["mimeType"])

    def asset_file(self, asset_id: str) -> Path:
        stem, mime = self._stem(asset_id)
        path = self.folder / f"{stem}{_extension(mime)}"
        if not path.exists():
            data, _ = self.services.assets.read(asset_id)
            _write_new(path, data)
        return path

    def rendition_file(self, asset_id: str, fmt: str) -> Path:
        """The asset converted to `fmt` (a served format name: png, jpeg, webp, ...)."""
        stem, _ = self._stem(asset_id)
        data, mime = self.services.downloads.render(asset_id, fmt)
        path = self.folder / f"{stem}{_extension(mime)}"
        _write_new(path, data)
        return path

    def preview_file(self, job_id: str, index: int) -> Path:
        """A running job's latest preview; rewritten each time, since previews change as the job runs."""
        path = self.folder / "previews" / f"{_SAFE.sub('_', job_id)}_{index}.png"
        data = self.services.jobs.preview_bytes(job_id, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{path.name}")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path

    def files(self, asset_ids: list[str]) -> list[dict[str, Any]]:
        """`files` of a result: each asset's local copy."""
        out = []
        for asset_id in asset_ids:
            path = self.asset_file(asset_id)
            out.append({"asset_id": asset_id, "path": str(path), "file_url": path.as_uri()})
        return out

    def _file_for(self, match: re.Match[str]) -> str:
        try:
            if match.group("asset"):
                fmt = match.group("fmt")
                path = self.rendition_file(match["asset"], fmt) if fmt else self.asset_file(match["asset"])
            else:
                path = self.preview_file(match["job"], int(match["index"]))
        except DiffuserveError:  # gone meanwhile (a deleted asset, a finished job's preview): no file to point at
            return "(not available over stdio)"
        return path.as_uri()

    def localize(self, result: CallToolResult) -> CallToolResult:
        """The result with every signed URL in its text replaced by the file:// URL of a local copy."""
        for block in result.content:
            if isinstance(block, TextContent) and self.services.signer.base_url in block.text:
                block.text = self._signed.sub(self._file_for, block.text)
        return result
