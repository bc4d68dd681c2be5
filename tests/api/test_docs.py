"""/docs (Swagger UI) and /redoc work offline: the pages load their scripts and styles from this server, which
serves them from an installed package; the OpenAPI document they render has no dangling references."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from diffuserve.api import routes_docs
from diffuserve.engine.engine import Engine
from tests.service_helpers import run_service


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[httpx.Client]:
    with run_service(tmp_path_factory.mktemp("docs"), engine) as service, service.client() as client:
        yield client


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
        ("/redoc", {"redoc.standalone.js"}),
    ],
)
def test_the_docs_pages_load_everything_from_this_server(docs: httpx.Client, path: str, assets: set[str]) -> None:
    response = docs.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = set(re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", response.text))
    assert not [link for link in links if "//" in link], links
    assert {link.rsplit("/", 1)[1] for link in links if link.startswith("/docs/assets/")} == assets
    assert "/openapi.json" in links and "/web/favicon.svg" in links
    for link in links - {"/openapi.json"}:
        assert docs.get(link).status_code == 200, link


@pytest.mark.parametrize("name", sorted(routes_docs.ASSETS))
def test_the_docs_assets_come_from_the_package(docs: httpx.Client, name: str) -> None:
    response = docs.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == routes_docs.ASSETS[name]
    assert response.content == (routes_docs.ASSETS_DIR / name).read_bytes()
    assert len(response.content) > 100_000  # the real bundles, not stubs


@pytest.mark.parametrize("path", ["/docs/assets/nope.js", "/docs/assets/favicon.png", "/docs/assets/..%2Fcore.py"])
def test_other_files_of_the_package_are_not_served(docs: httpx.Client, path: str) -> None:
    assert docs.get(path).status_code == 404


def test_the_oauth2_redirect_page_is_served(docs: httpx.Client) -> None:
    assert docs.get("/docs/oauth2-redirect").status_code == 200


def test_the_openapi_document_has_no_dangling_references(docs: httpx.Client) -> None:
    """Inline request bodies once kept pydantic's `#/$defs/...` refs, which point at the document's root where
    nothing is: ReDoc refused to render at all."""
    document = docs.get("/openapi.json").json()
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(document))):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, ref
            node = node[part]
