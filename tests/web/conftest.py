"""Fixtures of the browser tests: one Chromium and one running service (tiny demo models, API keys required) for
the session, and a fresh browser profile per test that fails it on a script error or a request off the server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page

from diffuserve.engine.engine import Engine
from tests.service_helpers import RunningService, run_service
from tests.web.browser import Watch, chromium, chromium_path, studio_context

# Expect calls wait this long by default: a job on the tiny models takes about a second, more on a busy machine.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed; scripts/services installs it (scripts/test runs it)")
    with chromium(path) as browser:
        yield browser


@dataclass
class Studio:
    service: RunningService
    credentials: tuple[str, str]

    @property
    def url(self) -> str:
        return self.service.base_url

    def api(self) -> httpx.Client:
        return self.service.client(auth=self.credentials)


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Studio]:
    with run_service(tmp_path_factory.mktemp("studio"), engine) as service:
        key = service.services.keys.create()
        yield Studio(service, (key.key, key.secret))


@pytest.fixture
def watch_page(browser: Browser, studio: Studio) -> Iterator[tuple[Page, Watch]]:
    with studio_context(browser, studio.url, studio.credentials) as (context, watch):
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        yield page, watch
    assert watch.errors == [], watch.errors


@pytest.fixture
def page(watch_page: tuple[Page, Watch]) -> Iterator[Page]:
    page, watch = watch_page
    yield page
    assert watch.outside == [], f"requests left the server: {watch.outside}"


@pytest.fixture
def api(studio: Studio) -> Iterator[httpx.Client]:
    with studio.api() as client:
        yield client
