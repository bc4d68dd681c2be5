"""Helpers for tests that drive the real service: a uvicorn server on 127.0.0.1, spec validation, images."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import uvicorn
from PIL import Image, ImageDraw

from diffuserve.app import create_app
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine

# A copy of shared/spec/scenario-openapi-subset.json (Scenario's Swagger 2.0 definitions), kept in the repo.
SPEC = Path(__file__).resolve().parent / "spec" / "scenario-openapi-subset.json"
TERMINAL = {"success", "failure", "canceled"}


@cache
def _definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = json.loads(SPEC.read_text())["definitions"]
    return definitions


def assert_matches(definition: str, instance: Any) -> None:
    """Validates against a definition of the spec's Swagger file (JSON Schema draft 4)."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": _definitions()}
    jsonschema.Draft4Validator(schema).validate(instance)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RunningService:
    base_url: str
    settings: Settings
    app: Any

    @property
    def services(self) -> Any:
        return self.app.state.services

    @property
    def mcp_url(self) -> str:
        """The streamable-HTTP MCP endpoint that create_app mounts."""
        return f"{self.base_url}/mcp"

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kwargs)


@contextmanager
def run_service(data_dir: Path, engine: Engine, **overrides: Any) -> Iterator[RunningService]:
    """The real app under uvicorn on 127.0.0.1, in a thread, sharing the session's warm engine."""
    port = free_port()
    settings = Settings(data_dir=data_dir, port=port, demo_models=False, shutdown_timeout_s=5, **overrides)
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        thread.join(30)


def wait_for(client: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """Polls GET /v1/jobs/{id} until the job ends; returns the job."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["job"]
        if job["status"] in TERMINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s}s")
        time.sleep(0.05)


def picture(size: int = 64, seed: int = 0) -> Image.Image:
    image = Image.new("RGB", (size, size), (40 + seed * 20 % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.rectangle((size // 4, size // 4, size // 2, size // 2), fill=(230, 200, 40))
    draw.ellipse((size // 2, size // 3, size - 4, size - 4), fill=(20, 180, 90))
    return image


def mask(size: int = 64) -> Image.Image:
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).rectangle((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=255)
    return image


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def data_url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png(image)).decode()


def open_png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


class LocalReceiver:
    """A local HTTP server for webhooks and image URLs: GET serves a 64x64 PNG at any path, POST records the
    JSON webhook payload; with `refuse_first` the first POST is answered 503, to exercise the retry."""

    def __init__(self, *, refuse_first: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.deliveries: list[tuple[dict[str, str], bytes]] = []  # (headers, raw body) of every POST received
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = png(picture(64))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(raw)
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                receiver.attempts += 1
                ok = not (refuse_first and receiver.attempts == 1)
                if ok:
                    receiver.calls.append(payload)
                self.send_response(200 if ok else 503)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for_call(self, timeout_s: float = 10) -> dict[str, Any]:
        """The first webhook payload delivered."""
        deadline = time.monotonic() + timeout_s
        while not self.calls:
            assert time.monotonic() < deadline, "webhook never delivered"
            time.sleep(0.05)
        return self.calls[0]

    def close(self) -> None:
        self.server.shutdown()
