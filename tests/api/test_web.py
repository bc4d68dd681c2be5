"""The built-in web page: `/` and its static files, served by the real app over HTTP, without credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from diffuserve.api import routes_web
from diffuserve.catalog.schedulers import SCHEDULER_NAMES
from diffuserve.catalog.types import Mode
from diffuserve.engine.engine import Engine
from diffuserve.errors import NotFound
from tests.service_helpers import run_service


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[httpx.Client]:
    """The real app under uvicorn, with API keys required (not open mode): the page itself needs none."""
    with run_service(tmp_path_factory.mktemp("web"), engine) as service, service.client() as client:
        yield client


def test_root_serves_the_page_with_its_script_and_style(web: httpx.Client) -> None:
    response = web.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<script type="module" src="/web/app.js"></script>' in html
    assert '<link rel="stylesheet" href="/web/style.css">' in html
    assert "random weights" in html


def test_the_page_needs_no_credentials_while_the_api_does(web: httpx.Client) -> None:
    assert web.get("/").status_code == 200
    assert web.get("/web/app.js").status_code == 200
    assert web.get("/v1/models").status_code == 401


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ],
)
def test_static_files_have_their_content_types(web: httpx.Client, name: str, content_type: str) -> None:
    response = web.get(f"/web/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (routes_web.WEB_DIR / name).read_bytes()


def test_every_file_the_page_links_is_served(web: httpx.Client) -> None:
    links = set(re.findall(r'(?:src|href)="(/web/[^"]+)"', web.get("/").text))
    assert links == {"/web/app.js", "/web/style.css", "/web/favicon.svg"}
    for link in links:
        assert web.get(link).status_code == 200, link
    assert web.get("/web/favicon.svg").headers["content-type"] == "image/svg+xml"


def test_every_module_the_script_imports_is_served(web: httpx.Client) -> None:
    """app.js is an ES module that imports the others by relative path (no build step): each is served as
    JavaScript, and none is left over unimported."""
    seen: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        seen.add(name)
        response = web.get(f"/web/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        todo += [m for m in re.findall(r"from '\./([\w-]+\.js)'", response.text) if m not in seen]
    assert seen == {p.name for p in routes_web.WEB_DIR.glob("*.js")}


def test_head_requests(web: httpx.Client) -> None:
    response = web.head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    "path", ["/web/nope.js", "/web/%2E%2E", "/web/..%2Fapp.py", "/web/%2E%2E%2Fapi%2Froutes_web.py"]
)
def test_unknown_or_outside_files_are_not_found(web: httpx.Client, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    assert response.json()["reason"] == "not_found"


def test_only_listed_kinds_of_files_are_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.txt").write_text("private")
    (tmp_path / "app.js").write_text("// js")
    monkeypatch.setattr(routes_web, "WEB_DIR", tmp_path)
    assert Path(routes_web.static_file("app.js").path) == tmp_path / "app.js"
    with pytest.raises(NotFound):
        routes_web.static_file("notes.txt")


def test_the_page_is_not_in_the_api_schema(web: httpx.Client) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not any(p.startswith("/web") for p in paths)


def test_the_script_names_no_model_and_no_scheduler() -> None:
    """Models, their limits, defaults and schedulers come from GET /v1/models: the page hard-codes none of them."""
    script = "".join(p.read_text() for p in routes_web.WEB_DIR.glob("*.js"))
    assert not re.search(r"tiny-|demo-shapes", script)
    assert not any(name in script for name in SCHEDULER_NAMES)
    assert all(mode.capability.replace("_", "-") == mode.value for mode in Mode)
