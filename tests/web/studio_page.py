"""Driving the page as a person does: pick a mode, choose files, paint, generate, and wait for the job's card."""

from __future__ import annotations

from typing import Any

from PIL import Image
from playwright.sync_api import FilePayload, Locator, Page

from tests.service_helpers import png

TERMINAL = ("success", "failure", "canceled")


def file(image: Image.Image, name: str = "in.png") -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": png(image)}


def choose_mode(page: Page, mode: str) -> None:
    """One of the six generate modes: a base mode, with or without reference images."""
    page.check(f"input[name=mode][value={mode.removesuffix('-ip-adapter')}]")
    page.set_checked("#ip-toggle", mode.endswith("-ip-adapter"))
    assert page.text_content("#endpoint") == f"POST /v1/generate/{mode}"


def fill(page: Page, **values: Any) -> None:
    """Text and number fields by their API names (prompt, numInferenceSteps, width, ...)."""
    for name, value in values.items():
        page.fill(f"#gen [name={name}]", str(value))


def set_input_image(page: Page, image: Image.Image, name: str = "in.png") -> str:
    """Chooses the input image; it is uploaded at once. Returns its asset id."""
    page.set_input_files("#image-slot input[type=file]", files=[file(image, name)])
    page.wait_for_selector("#image-slot[data-asset-id]")
    asset_id = page.get_attribute("#image-slot", "data-asset-id")
    assert asset_id
    return asset_id


def add_reference(page: Page, image: Image.Image, scale: float | None = None) -> None:
    empty = page.locator("#refs .ref:not([data-asset-id])")
    if empty.count() == 0:
        page.click("#add-ref")
    row = empty.first
    row.locator("input[type=file]").set_input_files(files=[file(image, "ref.png")])
    if scale is not None:
        row.locator("[name=refScale]").fill(str(scale))
    page.wait_for_function("() => [...document.querySelectorAll('#refs .ref')].every((r) => r.dataset.assetId)")


def set_range(locator: Locator, value: int) -> None:
    locator.evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }", value)


def paint(page: Page, points: list[tuple[float, float]], *, brush: int | None = None, erase: bool = False) -> None:
    """One brush stroke through points given as fractions (x, y) of the image."""
    page.wait_for_function("() => document.querySelector('#painter canvas.mask').width > 0")
    page.check(f"input[name=brushTool][value={'erase' if erase else 'paint'}]")
    if brush is not None:
        set_range(page.locator("#painter [name=brushSize]"), brush)
    canvas = page.locator("#painter canvas.mask")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def generate(page: Page, *, keys: bool = False) -> str:
    """Clicks Generate (or presses Ctrl+Enter) and returns the id of the job it added to the queue."""
    before = page.locator("#queue-list li.job").count()
    if keys:
        page.keyboard.press("Control+Enter")
    else:
        page.click("#submit")
    page.wait_for_function(f"() => document.querySelectorAll('#queue-list li.job').length > {before} || {SHOWN_ERRORS}")
    errors = shown_errors(page)
    assert not errors, errors
    job_id = page.get_attribute("#queue-list li.job >> nth=0", "data-job-id")
    assert job_id
    return job_id


# Is any error on screen: beside a field, or in the box under the form?
SHOWN_ERRORS = "[...document.querySelectorAll('#gen .field-error, #error:not([hidden])')].some((e) => e.textContent)"


def shown_errors(page: Page) -> list[str]:
    """The errors on screen, each as "field: message" ("form" for the box under the form)."""
    errors: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('#gen .field-error, #error:not([hidden])')]
            .filter((e) => e.textContent)
            .map((e) => `${e.id === 'error' ? 'form' : e.closest('[data-field]').dataset.field}: ${e.textContent}`)"""
    )
    return errors


def job_entry(page: Page, job_id: str) -> Locator:
    return page.locator(f"#queue-list li.job[data-job-id={job_id}]")


def wait_for_job(page: Page, job_id: str, status: str = "success") -> Locator:
    """The job's queue entry once it ended; with success, once its images are on screen."""
    entry = job_entry(page, job_id)
    states = ",".join(f"#queue-list li.job[data-job-id={job_id}][data-status={s}]" for s in TERMINAL)
    page.wait_for_selector(states)
    assert entry.get_attribute("data-status") == status, entry.inner_text()
    if status == "success":
        entry.locator(".outputs figure img").first.wait_for()
    return entry
