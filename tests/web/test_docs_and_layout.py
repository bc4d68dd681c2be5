"""Offline API docs, and the page's looks: dark theme from the system, usable at phone width, a favicon."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.web.browser import REDOC_LOGO, Watch, open_studio, studio_context
from tests.web.conftest import TIMEOUT_MS, Studio


def test_swagger_ui_works_offline(page: Page) -> None:
    """The page fixture fails the test on any request that leaves the server."""
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    paths = page.locator(".opblock-summary-path").all_text_contents()
    assert "/v1/generate/txt2img" in [p.replace("\u200b", "") for p in paths]
    assert page.title() == "diffuserve - Swagger UI"


def test_redoc_works_offline(watch_page: tuple[Page, Watch]) -> None:
    page, watch = watch_page
    page.goto("/redoc")
    page.get_by_role("heading", name="diffuserve").first.wait_for()
    page.locator("h2:has-text('Generate images: txt2img')").first.wait_for()
    assert "Something went wrong" not in page.inner_text("body")
    # Only ReDoc's sidebar logo tries the internet; it hides itself when it cannot load.
    assert set(watch.outside) <= {REDOC_LOGO}


@pytest.fixture
def phone(browser: Browser, studio: Studio) -> Iterator[Page]:
    options = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    with studio_context(browser, studio.url, studio.credentials, **options) as (context, watch):
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
    assert watch.errors == [] and watch.outside == []


def test_usable_at_phone_width(phone: Page) -> None:
    open_studio(phone)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The whole mode menu is on screen.
    for chip in phone.locator("#modes label.chip").all():
        box = chip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, chip.inner_text()
    # Form, queue and gallery in one column.
    form, queue = phone.locator("#gen").bounding_box(), phone.locator("#queue").bounding_box()
    assert form and queue and queue["y"] >= form["y"] + form["height"]


def _background(page: Page) -> list[int]:
    color: str = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    return [int(c) for c in color.removeprefix("rgb(").removesuffix(")").split(",")[:3]]


@pytest.mark.parametrize(("scheme", "dark"), [("light", False), ("dark", True)])
def test_the_theme_follows_the_system(browser: Browser, studio: Studio, scheme: str, dark: bool) -> None:
    with studio_context(browser, studio.url, studio.credentials, color_scheme=scheme) as (context, _watch):
        page = open_studio(context.new_page())
        assert (sum(_background(page)) < 3 * 64) == dark


def test_the_page_has_a_favicon(page: Page) -> None:
    open_studio(page)
    href = page.get_attribute("link[rel=icon]", "href")
    assert href == "/web/favicon.svg"
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"] == "image/svg+xml"
