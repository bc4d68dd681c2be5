"""Every generate mode end to end in the browser: the form sends what the person chose, the job runs, its images
come back in the queue."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from diffuserve.catalog.types import Mode
from tests.service_helpers import picture
from tests.web.browser import open_studio
from tests.web.studio_page import add_reference, choose_mode, fill, generate, paint, set_input_image, wait_for_job


@pytest.mark.parametrize("mode", [m.value for m in Mode])
def test_every_mode_runs_from_the_form(page: Page, api: httpx.Client, mode: str) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, mode)
    fill(page, prompt=f"a {mode} test", numInferenceSteps=2, numSamples=2, seed=7)
    image_id = None
    if mode.startswith(("img2img", "inpaint")):
        image_id = set_input_image(page, picture(64))
        assert page.is_visible("#image-slot img.thumb")
    else:
        fill(page, width=64, height=64)
    if mode.startswith("inpaint"):
        paint(page, [(0.2, 0.5), (0.8, 0.5)], brush=16)
    if mode.endswith("ip-adapter"):
        page.select_option("#gen [name=ipAdapterType]", "character")
        add_reference(page, picture(64, seed=3), scale=0.6)
        assert page.locator("#refs .ref img.thumb").first.is_visible()

    job_id = generate(page, keys=mode == "txt2img")
    entry = wait_for_job(page, job_id)

    assert entry.locator(".outputs figure").count() == 2
    sent = api.get(f"/v1/jobs/{job_id}").json()["job"]["metadata"]["input"]
    assert sent["type"] == mode.replace("-", "_")
    assert (sent["prompt"], sent["numInferenceSteps"], sent["seed"]) == (f"a {mode} test", 2, "7")
    assert (sent["width"], sent["height"]) == (64, 64)
    assert sent.get("imageId") == image_id
    assert ("maskId" in sent) == mode.startswith("inpaint")
    if mode.endswith("ip-adapter"):
        assert sent["ipAdapterType"] == "character"
        assert len(sent["ipAdapterImageIds"]) == 1
        assert sent["ipAdapterScales"] == [0.6]
    else:
        assert "ipAdapterImageIds" not in sent


def test_lora_concepts_with_their_scales(page: Page, api: httpx.Client) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, "txt2img")
    assert page.locator("#lora-rows .lora").count() == 0
    page.click("#add-lora")
    row = page.locator("#lora-rows .lora").first
    assert row.locator("select option").all_text_contents() == ["tiny-sd15-lora"]
    row.locator("[name=loraScale]").fill("0.7")
    fill(page, prompt="with a lora", numInferenceSteps=1, width=64, height=64)
    job_id = generate(page)
    wait_for_job(page, job_id)
    sent = api.get(f"/v1/jobs/{job_id}").json()["job"]["metadata"]["input"]
    assert sent["concepts"] == [{"modelId": "tiny-sd15-lora", "scale": 0.7}]
