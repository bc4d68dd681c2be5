"""`diffuserve mcp` as a desktop client runs it: a subprocess speaking MCP on stdio, with its own data folder."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from diffuserve.catalog.registry import ModelSpec
from tests.mcp.helpers import ProgressLog, assert_preview_images, payload, text_of
from tests.mcp.test_http import GENERATE_MODES, TINY, arguments_for
from tests.mcp.test_tool_list import TOOL_NAMES
from tests.service_helpers import mask, picture

REPO = Path(__file__).resolve().parents[2]


def stdio_server(data_dir: Path, demo_root: Path, toolsets: str | None = "scenario-api") -> StdioServerParameters:
    """`diffuserve mcp` with its own data folder; toolsets=None: the default toolset."""
    env = {
        "DIFFUSERVE_DATA_DIR": str(data_dir),
        "DIFFUSERVE_DEMO_MODELS_DIR": str(demo_root),
        "DIFFUSERVE_MAX_BATCH_IMAGES": "2",
    }
    for name in ("HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    args = ["-m", "diffuserve.cli", "mcp", *(["--toolsets", toolsets] if toolsets else [])]
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=REPO)


def test_stdio_server_lists_tools_generates_every_mode_from_local_files_and_reports_errors(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    image, mask_file, reference = tmp_path / "photo.png", tmp_path / "mask.png", tmp_path / "style.jpg"
    picture().save(image)
    mask().save(mask_file)
    picture(seed=3).convert("RGB").save(reference, format="JPEG")
    results: dict[str, tuple[Any, ProgressLog]] = {}

    async def run() -> tuple[Any, Any, Any, Any]:
        async with Client(stdio_server(tmp_path / "data", demo_root), read_timeout_seconds=180) as client:
            listed = await client.list_tools()
            for mode in GENERATE_MODES:
                progress = ProgressLog()
                args = arguments_for(mode, str(image), str(mask_file), str(reference))
                results[mode] = (
                    await client.call_tool(f"post-{mode}-inferences", args, progress_callback=progress),
                    progress,
                )
            uploaded = await client.call_tool("post-asset", {"name": "photo.png", "image": str(image)})
            bad = await client.call_tool("post-txt2img-inferences", {**TINY, "width": 65})
            missing = await client.call_tool("post-img2img-inferences", {**TINY, "image": str(tmp_path / "nope.png")})
            return listed, uploaded, bad, missing

    listed, uploaded, bad, missing = anyio.run(run)
    assert {tool.name for tool in listed.tools} == TOOL_NAMES
    for mode, (result, progress) in results.items():
        assert not result.is_error, (mode, text_of(result))
        assert payload(result)["job"]["status"] == "success"
        assert_preview_images(result, 1)
        progress.assert_increasing_to_done()
    image_input = payload(results["img2img"][0])["job"]["metadata"]["input"]
    assert image_input["imageId"].startswith("asset_") and image_input["width"] == 64
    assert payload(uploaded)["asset"]["properties"]["width"] == 64
    assert bad.is_error and text_of(bad).startswith("invalid_request: width must be a multiple of 8")
    assert missing.is_error and text_of(missing).startswith("file_not_found: ")


def test_stdio_server_answers_initialize_and_tools_list_at_once_while_the_engine_loads_behind(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    # MCP clients give up on a server that does not answer within about 15 s; torch alone takes longer than
    # that to import on a busy machine, so it loads on the worker's thread after the handshake.
    async def run() -> tuple[float, Any, Any]:
        started = time.perf_counter()
        async with Client(stdio_server(tmp_path / "data", demo_root), read_timeout_seconds=180) as client:
            listed = await client.list_tools()
            answered = time.perf_counter() - started
            generated = await client.call_tool("post-txt2img-inferences", TINY)
            return answered, listed, generated

    answered, listed, generated = anyio.run(run)
    print(f"diffuserve mcp: initialize + tools/list {answered:.2f} s after the process started")
    assert answered < 5
    assert {tool.name for tool in listed.tools} == TOOL_NAMES
    assert not generated.is_error, text_of(generated)
    assert payload(generated)["job"]["status"] == "success"
