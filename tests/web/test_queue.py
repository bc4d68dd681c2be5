"""Several jobs in flight at once in the queue panel, each with its progress, previews and cancel; the list of
jobs survives a reload."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.web.browser import open_studio
from tests.web.studio_page import choose_mode, fill, generate, job_entry, wait_for_job


def test_two_jobs_in_flight_and_one_canceled(page: Page, api: httpx.Client) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, "txt2img")
    # A long job with previews, then a quick one behind it: both in the queue at once.
    fill(page, prompt="long", numInferenceSteps=150, numSamples=8, width=384, height=384)
    page.check("#gen [name=intermediateImages]")
    long_id = generate(page)
    fill(page, prompt="quick", numInferenceSteps=1, numSamples=1, width=64, height=64)
    page.uncheck("#gen [name=intermediateImages]")
    quick_id = generate(page, keys=True)
    assert page.locator("#queue-list li.job").count() == 2
    assert page.text_content("#queue-list li.job >> nth=0 >> .job-prompt") == "quick"
    assert page.text_content("#queue-state") == "2 jobs in the queue ↓"

    long = job_entry(page, long_id)
    page.wait_for_selector(f"#queue-list li.job[data-job-id={long_id}][data-status=in-progress] .previews img")
    assert long.locator(".cancel").is_visible()
    long.locator(".cancel").click()
    wait_for_job(page, long_id, "canceled")
    assert long.locator(".previews img").count() == 0
    assert not long.locator(".cancel").is_visible()
    assert api.get(f"/v1/jobs/{long_id}").json()["job"]["status"] == "canceled"

    wait_for_job(page, quick_id)
    assert page.is_hidden("#queue-state")

    # A reload keeps the queue (and the form).
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector(f"#queue-list li.job[data-job-id={quick_id}][data-status=success] .outputs img")
    assert page.locator("#queue-list li.job").evaluate_all("(lis) => lis.map((li) => li.dataset.jobId)") == [
        quick_id,
        long_id,
    ]
    assert page.input_value("#gen [name=prompt]") == "quick"
    assert page.input_value("#gen [name=width]") == "64"
    # Removing a finished job takes it off the list for good.
    job_entry(page, long_id).locator(".dismiss").click()
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#queue-list li.job").count() == 1
