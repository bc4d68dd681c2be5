"""Over stdio no HTTP server runs: results give the images as files in the outputs folder (a path and a file://
URL, full size, besides the small previews), no URL of the absent server; a job the client stops waiting for is
said to run inside this process while the connection lasts, and one left unfinished when the client leaves runs
when diffuserve starts again on the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp_types import CallToolResult, TextContent
from PIL import Image

from diffuserve.catalog.registry import ModelSpec
from tests.mcp.helpers import payload, text_of
from tests.mcp.test_http import TINY
from tests.mcp.test_stdio import stdio_server

PARAMETERS = {"prompt": "a red fox", "width": 64, "height": 64, "numInferenceSteps": 2, "numSamples": 2}


def _texts(results: dict[str, CallToolResult]) -> str:
    return "\n".join(b.text for r in results.values() for b in r.content if isinstance(b, TextContent))


def test_stdio_results_are_local_files_and_no_url_points_at_an_absent_server(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    data = tmp_path / "data"

    async def run() -> dict[str, CallToolResult]:
        r: dict[str, CallToolResult] = {}
        async with Client(stdio_server(data, demo_root, "full"), read_timeout_seconds=180) as client:
            r["run"] = await client.call_tool("model_run", {"model_id": "tiny-sd15", "parameters": PARAMETERS})
            asset_id = payload(r["run"])["asset_ids"][0]
            r["display"] = await client.call_tool("asset_display", {"asset_id": asset_id})
            r["markdown"] = await client.call_tool("asset_display", {"asset_id": asset_id, "format": "markdown"})
            r["download"] = await client.call_tool("asset_download", {"asset_id": asset_id, "format": "jpg"})
            r["job"] = await client.call_tool("job_get", {"job_id": payload(r["run"])["job_id"]})
            r["generate"] = await client.call_tool("post-txt2img-inferences", TINY)
            r["assets"] = await client.call_tool("get-assets", {})
            r["asset"] = await client.call_tool("get-assets-by-asset-id", {"assetId": asset_id})
            r["multipart"] = await client.call_tool("upload_asset", {"file_name": "big.png", "file_size": 10**7})
        return r

    r = anyio.run(run)
    for name, result in r.items():
        assert name == "multipart" or not result.is_error, (name, text_of(result))
    outputs = (data / "outputs").resolve()
    run_row = payload(r["run"])
    files = run_row["files"]
    assert [f["asset_id"] for f in files] == run_row["asset_ids"]
    for i, file in enumerate(files):
        path = Path(file["path"])
        assert path.parent == outputs and path.name == f"{run_row['job_id']}_{i}.png"
        assert file["file_url"] == path.as_uri()
        with Image.open(path) as image:
            assert image.size == (64, 64)  # full size, not a preview
    assert "files[].path" in run_row["next"]
    assert payload(r["job"])["files"] == files
    shown = payload(r["display"])
    assert shown["path"] == files[0]["path"] and shown["url"] == files[0]["file_url"]
    assert f"]({files[0]['file_url']})" in text_of(r["markdown"])
    downloaded = payload(r["download"])
    assert downloaded["path"].endswith(".jpg") and downloaded["url"] == Path(downloaded["path"]).as_uri()
    with Image.open(downloaded["path"]) as jpeg:
        assert jpeg.format == "JPEG"
    image = payload(r["generate"])["images"][0]
    assert Path(image["path"]).is_file() and image["url"] == Path(image["path"]).as_uri()
    assert "images[].path" in payload(r["generate"])["next"]
    assert payload(r["asset"])["asset"]["url"] == files[0]["file_url"]
    assert all(a["url"].startswith("file://") for a in payload(r["assets"])["assets"])
    assert "http://" not in _texts(r)
    assert r["multipart"].is_error and "over stdio there are no upload URLs" in text_of(r["multipart"])


def test_a_job_left_unfinished_when_the_client_leaves_runs_when_diffuserve_starts_again(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    data = tmp_path / "data"

    async def leave() -> tuple[CallToolResult, CallToolResult]:
        async with Client(stdio_server(data, demo_root, "full"), read_timeout_seconds=180) as client:
            queued = await client.call_tool(
                "model_run", {"model_id": "tiny-sd15", "parameters": PARAMETERS, "wait": False}
            )
            waited = await client.call_tool("post-txt2img-inferences", {**TINY, "waitSeconds": 0})
        return queued, waited  # the client closes the connection: the process ends

    queued, waited = anyio.run(leave)
    for result in (queued, waited):
        text = text_of(result)
        assert "inside this diffuserve mcp process for as long as this connection lasts" in text, text
        assert "on the server" not in text
    job_ids = [payload(queued)["job_id"], payload(waited)["job"]["jobId"]]

    async def come_back() -> dict[str, Any]:
        async with Client(stdio_server(data, demo_root, "full"), read_timeout_seconds=180) as client:
            result = await client.call_tool("jobs_wait", {"job_ids": job_ids, "timeout_seconds": 120})
        return payload(result)

    waited_again = anyio.run(come_back)
    assert [row["status"] for row in waited_again["jobs"]] == ["success", "success"], waited_again
    assert all(Path(f["path"]).is_file() for row in waited_again["jobs"] for f in row["files"])
