"""The task-level toolset over stdio, as `diffuserve mcp` serves it by default: local files in (upload_asset
path, image parameters) and out (asset_download save_to), and the command line refusing an unknown toolset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from PIL import Image

from diffuserve.catalog.registry import ModelSpec
from tests.mcp.helpers import payload, text_of
from tests.mcp.test_stdio import REPO, stdio_server
from tests.mcp.test_toolsets import TASK_TOOLS
from tests.service_helpers import picture

FAST = {"prompt": "a red fox", "numInferenceSteps": 2, "numSamples": 1, "strength": 0.8}


def test_stdio_serves_the_task_tools_with_local_files_in_and_out(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    photo = tmp_path / "photo.png"
    picture(80).save(photo)
    out = tmp_path / "out"
    out.mkdir()

    async def run() -> dict[str, Any]:
        async with Client(stdio_server(tmp_path / "data", demo_root, None), read_timeout_seconds=180) as client:
            r: dict[str, Any] = {"tools": (await client.list_tools()).tools}
            r["upload"] = await client.call_tool("upload_asset", {"file_name": "photo.png", "path": str(photo)})
            parameters = {**FAST, "image": str(photo)}
            r["run"] = await client.call_tool("model_run", {"model_id": "tiny-sd15", "parameters": parameters})
            asset_id = payload(r["run"])["asset_ids"][0]
            r["saved"] = await client.call_tool("asset_download", {"asset_id": asset_id, "save_to": str(out)})
            again = {"asset_id": asset_id, "save_to": payload(r["saved"])["saved_to"]}
            r["again"] = await client.call_tool("asset_download", again)
            jpeg = {"asset_id": asset_id, "format": "jpg", "save_to": str(out / "fox.jpg")}
            r["jpeg"] = await client.call_tool("asset_download", jpeg)
            return r

    r = anyio.run(run)
    tools = {tool.name: tool for tool in r["tools"]}
    assert set(tools) == TASK_TOOLS
    assert "save_to" in tools["asset_download"].input_schema["properties"]
    assert "path" in tools["upload_asset"].input_schema["properties"]
    assert payload(r["upload"])["width"] == 80
    assert not r["run"].is_error, text_of(r["run"])
    saved = Path(payload(r["saved"])["saved_to"])
    assert saved.parent == out and saved.suffix == ".png" and Image.open(saved).size == (80, 80)
    assert r["again"].is_error and text_of(r["again"]).startswith("file_exists: ")
    assert Image.open(out / "fox.jpg").format == "JPEG"


def test_the_command_line_refuses_an_unknown_toolset(tmp_path: Path) -> None:
    env = {**os.environ, "DIFFUSERVE_DATA_DIR": str(tmp_path)}
    flag = subprocess.run(
        [sys.executable, "-m", "diffuserve.cli", "mcp", "--toolsets", "default,nope"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert flag.returncode == 2 and "unknown toolset 'nope'" in flag.stderr
    from_env = subprocess.run(
        [sys.executable, "-m", "diffuserve.cli", "mcp"],
        capture_output=True,
        text=True,
        env={**env, "DIFFUSERVE_MCP_TOOLSETS": "everything"},
        cwd=REPO,
        timeout=60,
    )
    assert from_env.returncode == 2 and "unknown toolset 'everything'" in from_env.stderr
