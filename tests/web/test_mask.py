"""The inpainting mask painted in the browser is the mask the server receives: white where the brush went, black
where it did not or where the eraser went; clear, invert and the feather preview work on the same canvas."""

from __future__ import annotations

import httpx
from PIL import Image
from playwright.sync_api import Page

from tests.service_helpers import open_png, picture, png
from tests.web.browser import open_studio
from tests.web.studio_page import choose_mode, fill, generate, paint, set_input_image, shown_errors, wait_for_job

WIDTH, HEIGHT = 128, 96

# Alpha of the painted canvas at image pixel (x, y).
ALPHA_AT = """([canvas, x, y]) => document.querySelector(canvas).getContext('2d').getImageData(x, y, 1, 1).data[3]"""


def _inpaint_form(page: Page) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, "inpaint")
    fill(page, prompt="a red door", numInferenceSteps=2)
    set_input_image(page, picture(WIDTH).resize((WIDTH, HEIGHT)))
    assert page.is_visible("#painter .stage img")


def _mask_received(api: httpx.Client, job_id: str) -> Image.Image:
    mask_id = api.get(f"/v1/jobs/{job_id}").json()["job"]["metadata"]["input"]["maskId"]
    url = api.get(f"/v1/assets/{mask_id}").json()["asset"]["url"]
    return open_png(httpx.get(url).content).convert("L")


def test_the_painted_mask_is_what_the_server_receives(page: Page, api: httpx.Client) -> None:
    _inpaint_form(page)
    # A 16 px band across the middle, then a dot of the eraser in its centre.
    paint(page, [(0.1, 0.5), (0.9, 0.5)], brush=16)
    paint(page, [(0.5, 0.5)], brush=12, erase=True)

    job_id = generate(page)
    wait_for_job(page, job_id)

    mask = _mask_received(api, job_id)
    assert mask.size == (WIDTH, HEIGHT)
    assert set(mask.getdata()) == {0, 255}  # black and white only
    assert mask.getpixel((20, 48)) == 255 and mask.getpixel((108, 48)) == 255  # the stroke
    assert mask.getpixel((64, 48)) == 0  # erased
    assert mask.getpixel((20, 30)) == 0 and mask.getpixel((20, 66)) == 0  # above and below the 16 px band
    assert mask.getpixel((3, 48)) == 0 and mask.getpixel((124, 48)) == 0  # past its round ends
    white = sum(1 for v in mask.getdata() if v == 255)
    assert 0.8 * (102 * 16 - 113) < white < 1.2 * (102 * 16 + 201)  # the band less the eraser's dot, about

    # "Use parameters" on the result brings back its input image and its mask, onto a cleared canvas.
    page.click("#painter [data-action=clear]")
    page.fill("#gen [name=prompt]", "something else")
    page.locator(f"#queue-list li[data-job-id={job_id}] .outputs button:has-text('Use parameters')").click()
    page.wait_for_function(f"() => ({ALPHA_AT})(['#painter canvas.mask', 20, 48]) === 255")
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 64, 48]) == 0
    assert page.input_value("#gen [name=prompt]") == "a red door"
    input_id = api.get(f"/v1/jobs/{job_id}").json()["job"]["metadata"]["input"]["imageId"]
    assert page.get_attribute("#image-slot", "data-asset-id") == input_id


def test_clear_invert_and_the_feather_preview(page: Page) -> None:
    _inpaint_form(page)
    paint(page, [(0.05, 0.5), (0.3, 0.5)], brush=24)
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 20, 48]) == 255
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 100, 48]) == 0

    page.click("#painter [data-action=invert]")
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 20, 48]) == 0
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 100, 48]) == 255

    # The feather preview shows the soft edge the server blends over (2 px for a 96 px side), past the hard edge.
    page.click("#painter [data-action=invert]")
    page.check("#painter [name=featherPreview]")
    assert page.is_visible("#painter canvas.feather")
    edge = page.evaluate(ALPHA_AT, ["#painter canvas.feather", 20, 48 + 12 + 2])
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 20, 48 + 12 + 2]) == 0
    assert 0 < edge < 255

    page.click("#painter [data-action=clear]")
    assert page.evaluate(ALPHA_AT, ["#painter canvas.mask", 20, 48]) == 0
    page.click("#submit")
    page.wait_for_selector("#painter.invalid")
    assert shown_errors(page) == ["mask: Paint the area to repaint on the image, or load a mask file."]
    assert page.locator("#queue-list li.job").count() == 0


def test_a_mask_file_loads_onto_the_canvas(page: Page, api: httpx.Client) -> None:
    _inpaint_form(page)
    mask = Image.new("L", (WIDTH // 2, HEIGHT // 2), 0)
    mask.paste(255, (0, 0, WIDTH // 4, HEIGHT // 2))  # the left half, at half the size: stretched to the image
    page.set_input_files(
        "#painter [name=maskFile]", files=[{"name": "m.png", "mimeType": "image/png", "buffer": png(mask)}]
    )
    page.wait_for_function(f"() => ({ALPHA_AT})(['#painter canvas.mask', 10, 10]) === 255")
    job_id = generate(page)
    wait_for_job(page, job_id)
    received = _mask_received(api, job_id)
    assert received.getpixel((10, 10)) == 255 and received.getpixel((WIDTH - 10, 10)) == 0
