"""Screenshots of the page for the docs: desktop and phone widths, light and dark, with a painted mask, a finished
job in the queue and the gallery. Runs the real service on the tiny demo models in a temporary folder.

    python -m tests.web.screenshots docs/screenshots
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from diffuserve.catalog.registry import Registry
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.engine.tiny import build_demo_models
from tests.service_helpers import run_service, wait_for
from tests.web.browser import chromium, chromium_path, open_studio, studio_context
from tests.web.studio_page import choose_mode, fill, generate, paint, set_input_image, wait_for_job

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _scene() -> Image.Image:
    """An input image with shapes a person can paint over."""
    image = Image.new("RGB", (192, 128), (120, 170, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 96, 192, 128), fill=(90, 150, 80))
    draw.rectangle((36, 52, 84, 100), fill=(200, 90, 60))
    draw.polygon([(30, 54), (60, 28), (90, 54)], fill=(120, 50, 40))
    draw.ellipse((130, 16, 166, 52), fill=(250, 220, 80))
    return image


def main(out: Path) -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("chromium is not installed; scripts/services installs it")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", demo_models_dir=root / "demo")
        registry = Registry(settings.resolved_registry_path)
        for spec in build_demo_models(root / "demo"):
            registry.add(spec, replace=True)
        engine = Engine(registry, settings)
        with run_service(root / "service", engine) as service, chromium(executable) as browser:
            key = service.services.keys.create()
            credentials = (key.key, key.secret)
            with service.client(auth=credentials) as api:
                for prompt, seed in (("a lighthouse at dusk", "11"), ("a watercolor fox", "12")):
                    body = {
                        "modelId": "tiny-sd15",
                        "prompt": prompt,
                        "numSamples": 3,
                        "numInferenceSteps": 4,
                        "width": 128,
                        "height": 128,
                        "seed": seed,
                    }
                    wait_for(api, api.post("/v1/generate/txt2img", json=body).json()["job"]["jobId"])
            job_id = None  # the inpaint job, made once from the page and shown in every screenshot's queue
            stroke = [(0.2, 0.55), (0.42, 0.55), (0.42, 0.75), (0.2, 0.75)]
            for size, viewport in SIZES.items():
                for scheme in ("light", "dark"):
                    options = {"viewport": viewport, "color_scheme": scheme}
                    with studio_context(browser, service.base_url, credentials, **options) as (context, _watch):
                        if job_id:
                            context.add_init_script(f"localStorage.setItem('diffuserve.queue', '[\"{job_id}\"]')")
                        page = open_studio(context.new_page())
                        page.select_option("#model", "tiny-sd15")
                        choose_mode(page, "inpaint")
                        fill(page, prompt="a red door", numInferenceSteps=4, seed=5)
                        set_input_image(page, _scene(), "house.png")
                        paint(page, stroke, brush=18)
                        if job_id is None:
                            job_id = generate(page)
                            wait_for_job(page, job_id)
                            page.click("#gallery-refresh")
                        page.wait_for_selector(f"#queue-list li[data-job-id={job_id}] .outputs img")
                        page.wait_for_selector("#gallery-items figure.image-card img")
                        # A full-page shot shows images below the fold too: load the lazy ones first.
                        page.evaluate("() => document.querySelectorAll('img').forEach((i) => { i.loading = 'eager'; })")
                        page.wait_for_function("() => [...document.images].every((i) => i.complete)")
                        page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
                        path = out / f"studio-{size}-{scheme}.png"
                        shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
                        # 256 colours: a quarter of the size, and the page has few.
                        shot.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
                        print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
