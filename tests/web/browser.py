"""Headless Chromium for the page's tests and screenshots: Debian's `chromium` package driven by Playwright (no
browser download), with a context that refuses every request leaving the test server and records page errors."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

CREDENTIALS_KEY = "diffuserve.credentials"  # where the page keeps the key (web/api.js)
# The one outside request the offline pages make: ReDoc's "by Redocly" sidebar logo, an <img> that hides itself
# when it cannot load.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def chromium_path() -> str | None:
    """The system's Chromium (scripts/services installs it), or DIFFUSERVE_CHROMIUM."""
    return os.environ.get("DIFFUSERVE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium(executable: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # As root (CI) Chromium refuses to start with its sandbox.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page did that a test should know of: requests to other hosts, uncaught script errors."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def studio_context(
    browser: Browser, base_url: str, credentials: tuple[str, str] | None, **options: Any
) -> Iterator[tuple[BrowserContext, Watch]]:
    """A fresh browser profile on the test server, with the API key already saved as the page saves it."""
    context = browser.new_context(base_url=base_url, **{"viewport": {"width": 1280, "height": 900}, **options})
    watch = Watch()
    if credentials:
        saved = json.dumps({"key": credentials[0], "secret": credentials[1]})
        context.add_init_script(
            f"if (location.origin === {base_url!r} && !localStorage.getItem({CREDENTIALS_KEY!r})) "
            f"localStorage.setItem({CREDENTIALS_KEY!r}, {saved!r});"
        )

    def refuse(route: Route) -> None:
        watch.outside.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(base_url), refuse)
    context.on("weberror", lambda error: watch.errors.append(str(error.error)))
    try:
        yield context, watch
    finally:
        context.close()


def open_studio(page: Page) -> Page:
    """The page, loaded: models listed, form restored, queue and gallery fetched."""
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    return page
