"""The gallery shows past images and jobs from the API a page at a time; each image carries its parameters, and
"use parameters", "use as input" and a download under a meaningful name."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.service_helpers import wait_for
from tests.web.browser import open_studio

PROMPT = "A gallery: page test!"
SLUG = "a-gallery-page-test"


@pytest.fixture(scope="module")
def past_job(studio: Any) -> dict[str, Any]:
    """25 images of one job (more than one page of 24), made through the API before the page opens."""
    with studio.api() as api:
        body = {
            "modelId": "tiny-sd15",
            "prompt": PROMPT,
            "numSamples": 25,
            "numInferenceSteps": 1,
            "width": 64,
            "height": 64,
            "seed": "1000",
            "guidance": 5,
        }
        job_id = api.post("/v1/generate/txt2img", json=body).json()["job"]["jobId"]
        job = wait_for(api, job_id)
        assert job["status"] == "success"
        return job


def _shown(page: Page, job: dict[str, Any], index: int = 0) -> str:
    """The id of an image of the job among those on the gallery's first page."""
    page.wait_for_selector("#gallery-items figure.image-card")
    ids = page.locator("#gallery-items figure.image-card").evaluate_all("(cs) => cs.map((c) => c.dataset.assetId)")
    mine = [i for i in ids if i in job["metadata"]["assetIds"]]
    return mine[index]


def test_images_a_page_at_a_time(page: Page, past_job: dict[str, Any]) -> None:
    open_studio(page)
    cards = page.locator("#gallery-items figure.image-card")
    assert cards.count() == 24
    assert page.is_visible("#gallery-more")
    page.click("#gallery-more")
    page.wait_for_function("() => document.querySelectorAll('#gallery-items figure.image-card').length > 24")
    ids = cards.evaluate_all("(cs) => cs.map((c) => c.dataset.assetId)")
    assert len(ids) == len(set(ids))  # the second page continues the first
    assert set(past_job["metadata"]["assetIds"]) <= set(ids)
    # Each image shows its parameters.
    card = page.locator(f"#gallery-items figure[data-asset-id={_shown(page, past_job)}]")
    card.locator("details summary").click()
    text = card.locator("details dl").inner_text()
    assert PROMPT in text and "tiny-sd15" in text and "64\u00d764" in text


def test_download_has_a_meaningful_name(page: Page, api: httpx.Client, past_job: dict[str, Any]) -> None:
    open_studio(page)
    asset_id = _shown(page, past_job, 3)
    seed = api.get(f"/v1/assets/{asset_id}").json()["asset"]["metadata"]["seed"]
    card = page.locator(f"#gallery-items figure[data-asset-id={asset_id}]")
    with page.expect_download() as download:
        card.locator("a.download").click()
    assert download.value.suggested_filename == f"{SLUG}_tiny-sd15_{seed}.png"
    path = download.value.path()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_use_parameters_of_an_image_fills_the_form(page: Page, api: httpx.Client, past_job: dict[str, Any]) -> None:
    open_studio(page)
    asset_id = _shown(page, past_job, 2)
    seed = api.get(f"/v1/assets/{asset_id}").json()["asset"]["metadata"]["seed"]
    page.fill("#gen [name=prompt]", "something else")
    page.locator(f"#gallery-items figure[data-asset-id={asset_id}] button:has-text('Use parameters')").click()
    page.wait_for_function(f"() => document.querySelector('#gen [name=prompt]').value === {PROMPT!r}")
    values = {n: page.input_value(f"#gen [name={n}]") for n in ("seed", "numInferenceSteps", "width", "guidance")}
    assert values == {"seed": seed, "numInferenceSteps": "1", "width": "64", "guidance": "5"}
    assert page.input_value("#model") == "tiny-sd15"
    assert page.is_checked("input[name=mode][value=txt2img]")


def test_use_as_input_and_job_parameters(page: Page, past_job: dict[str, Any]) -> None:
    open_studio(page)
    asset_id = _shown(page, past_job)
    page.locator(f"#gallery-items figure[data-asset-id={asset_id}] button:has-text('Use as input')").click()
    page.wait_for_selector(f"#image-slot[data-asset-id={asset_id}]")
    assert page.is_checked("input[name=mode][value=img2img]")
    assert page.is_visible("#image-slot img.thumb")

    # The jobs view: the same job, with its images and its parameters to reuse.
    page.click("#gallery [role=tab][data-view=jobs]")
    job = page.locator(f"#gallery-items article.job-card[data-job-id={past_job['jobId']}]")
    job.wait_for()
    assert job.locator("figure.image-card").count() == 25
    page.fill("#gen [name=prompt]", "something else")
    job.locator(".job-head button:has-text('Use parameters')").click()
    page.wait_for_function(f"() => document.querySelector('#gen [name=prompt]').value === {PROMPT!r}")
    assert page.input_value("#gen [name=seed]") == "1000"
    assert page.input_value("#gen [name=numSamples]") == "25"
    assert page.is_checked("input[name=mode][value=txt2img]")
