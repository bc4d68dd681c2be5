"""The form follows the chosen model, says what is wrong in plain words beside the field concerned (whether the
browser or the server found it), and forgets old errors when the mode changes."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.service_helpers import picture
from tests.web.browser import open_studio
from tests.web.studio_page import SHOWN_ERRORS, add_reference, choose_mode, fill, set_input_image, shown_errors


def _submit_expecting_errors(page: Page) -> list[str]:
    page.click("#submit")
    page.wait_for_function(f"() => {SHOWN_ERRORS}")
    return shown_errors(page)


def _model(api: httpx.Client, model_id: str) -> dict[str, dict[str, object]]:
    model = api.get(f"/v1/models/{model_id}").json()["model"]
    return {i["name"]: i for i in model["inputs"]}


def test_limits_defaults_schedulers_and_loras_follow_the_model(page: Page, api: httpx.Client) -> None:
    open_studio(page)
    for model_id in ("tiny-sd15", "tiny-sdxl"):
        inputs = _model(api, model_id)
        page.select_option("#model", model_id)
        width = page.locator("#gen [name=width]")
        assert width.evaluate("(e) => [Number(e.min), Number(e.max), Number(e.step)]") == [
            inputs["width"]["min"],
            inputs["width"]["max"],
            8,
        ]
        assert width.get_attribute("placeholder") == str(inputs["width"]["default"])
        assert page.get_attribute("#gen [name=guidance]", "placeholder") == f"{inputs['guidance']['default']:g}"
        schedulers = page.locator("#gen [name=scheduler] option").evaluate_all("(os) => os.map((o) => o.value)")
        assert schedulers == ["", *inputs["scheduler"]["allowedValues"]]  # type: ignore[misc]
        first = page.text_content("#gen [name=scheduler] option") or ""
        assert f"({inputs['scheduler']['default']})" in first
        page.click("#add-lora")
        options = page.locator("#lora-rows .lora >> nth=-1 >> option").all_text_contents()
        assert options == inputs["concepts"]["allowedValues"]
        types = page.locator("#gen [name=ipAdapterType] option").all_text_contents()
        assert types == inputs["ipAdapterType"]["allowedValues"]
        assert page.is_hidden("[data-field=baseModelId]")

    # A LoRA model: the bases it runs on, and only the modes it has (no reference images).
    inputs = _model(api, "tiny-sd15-lora")
    page.select_option("#model", "tiny-sd15-lora")
    assert page.is_visible("[data-field=baseModelId]")
    bases = page.locator("#gen [name=baseModelId] option").all_text_contents()
    assert bases == inputs["baseModelId"]["allowedValues"]
    assert page.is_disabled("#ip-toggle")
    assert page.is_hidden("#loras")


def test_a_size_over_the_models_limit_is_shown_at_its_field_before_sending(page: Page) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, "txt2img")
    fill(page, prompt="too wide", width=2048)
    errors = _submit_expecting_errors(page)
    assert len(errors) == 1 and errors[0].startswith("width: ") and "1024" in errors[0], errors
    assert page.locator("#queue-list li.job").count() == 0
    # Editing the field takes its error away.
    page.fill("#gen [name=width]", "512")
    assert shown_errors(page) == []


def test_a_server_error_is_shown_at_its_field_in_plain_words(page: Page) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, "img2img")
    set_input_image(page, picture(64))
    fill(page, prompt="weak", numInferenceSteps=1, strength=0.5)
    errors = _submit_expecting_errors(page)
    assert errors == ["strength: Steps x strength must be at least 1 (it is 1 x 0.5); raise either"], errors
    assert page.locator("#queue-list li.job").count() == 0


def test_missing_references_are_asked_for_and_a_mode_change_clears_errors(page: Page) -> None:
    open_studio(page)
    page.select_option("#model", "tiny-sd15")
    choose_mode(page, "txt2img-ip-adapter")
    fill(page, prompt="no references", numInferenceSteps=1, width=64, height=64)
    errors = _submit_expecting_errors(page)
    assert errors == ["ipAdapterImages: Add at least one reference image, or turn “reference images” off."]
    choose_mode(page, "txt2img")
    assert shown_errors(page) == []

    # An error the form has no field for goes in the box under the form, and a mode change clears it too.
    choose_mode(page, "txt2img-ip-adapter")
    add_reference(page, picture(64))
    page.route(
        "**/v1/generate/**",
        lambda route: route.fulfill(
            status=503,
            json={"reason": "database_unavailable", "message": "the database cannot be reached right now; retry"},
        ),
    )
    errors = _submit_expecting_errors(page)
    assert errors == ["form: The database cannot be reached right now; retry"]
    choose_mode(page, "img2img-ip-adapter")
    assert shown_errors(page) == []
    assert page.is_hidden("#error")
