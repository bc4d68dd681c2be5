"""Helpers for the MCP tests: the app with /mcp under uvicorn, SDK client sessions, reading tool results."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ImageContent, TextContent

from tests.service_helpers import RunningService, open_png


def api_url(service: RunningService) -> str:
    """/mcp with the fifteen REST-shaped tools (the `scenario-api` toolset) instead of the task-level default."""
    return f"{service.mcp_url}?toolsets=scenario-api"


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


@asynccontextmanager
async def http_session(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    """An SDK client session over streamable HTTP with the given headers."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120) as client,
    ):
        yield client


@dataclass
class ProgressLog:
    """Collects the progress notifications of one call."""

    events: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    def assert_increasing_to_done(self) -> None:
        values = [p for p, _, _ in self.events]
        assert values, "no progress notifications arrived"
        assert values == sorted(values) and len(set(values)) == len(values), values
        assert values[-1] == 100.0 and self.events[-1][2] is not None and "success" in self.events[-1][2]


def text_of(result: CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


def payload(result: CallToolResult) -> dict[str, Any]:
    """The JSON object of a result's first text block (after the summary lines, if any)."""
    text = text_of(result)
    start = 0 if text.startswith("{") else text.index("\n{") + 1
    data: dict[str, Any] = json.loads(text[start:])
    return data


def previews(result: CallToolResult) -> list[ImageContent]:
    return [c for c in result.content if isinstance(c, ImageContent)]


def assert_preview_images(result: CallToolResult, count: int) -> None:
    images = previews(result)
    assert len(images) == count, [c.type for c in result.content]
    for image in images:
        assert image.mime_type in ("image/jpeg", "image/png")
        assert max(open_png(base64.b64decode(image.data)).size) <= 256
