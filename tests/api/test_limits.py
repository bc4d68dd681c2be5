"""BodySizeLimit on a tiny app: a body over the cap is 413 body_too_large, declared or streamed; smaller ones pass."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from diffuserve.api.limits import BodySizeLimit

CAP = 1000


@pytest.fixture()
def client() -> Iterator[TestClient]:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/json")
    def json_body(body: dict[str, str]) -> dict[str, int]:
        return {"size": len(body["x"])}

    app.add_middleware(BodySizeLimit, max_bytes=CAP)
    with TestClient(app) as c:
        yield c


def _chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def test_a_body_within_the_cap_passes(client: TestClient) -> None:
    assert client.post("/echo", content=b"x" * CAP).json() == {"size": CAP}
    assert client.post("/echo", content=_chunks(CAP)).json() == {"size": CAP}


@pytest.mark.parametrize("path", ["/echo", "/json"])
def test_a_declared_length_over_the_cap_is_413(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"x" * (CAP + 1))
    assert response.status_code == 413
    assert response.json()["reason"] == "body_too_large" and response.json()["message"]


@pytest.mark.parametrize("path", ["/echo", "/json"])
def test_a_streamed_body_over_the_cap_is_413(client: TestClient, path: str) -> None:
    response = client.post(path, content=_chunks(CAP + 100), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["reason"] == "body_too_large"
