"""Service overhead: N concurrent img2img requests on the tiny model through HTTP, beside the engine alone.

The service runs as its own `diffuserve serve` process (as users run it); N client threads each submit one
request, poll its job every --poll seconds (Scenario's SDK polls every 3 s) and fetch the output asset.
Prints time per image for both, the overhead ratio (HTTP / engine) and the HTTP throughput. Not a test.

    python bench/service.py [--n 8] [--size 512] [--steps 4] [--poll 0.25]
"""

from __future__ import annotations

import argparse
import base64
import io
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _serve import serve, wait_for
from PIL import Image, ImageDraw

from diffuserve.catalog.registry import Registry
from diffuserve.catalog.types import GenerationRequest, Mode
from diffuserve.config import Settings
from diffuserve.engine.demo import register_demo_models
from diffuserve.engine.engine import Engine


def picture(size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), (40, 90, 160))
    ImageDraw.Draw(image).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(220, 120, 30))
    return image


def data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def engine_per_image(data_dir: Path, size: int, steps: int, n: int) -> float:
    settings = Settings(data_dir=data_dir)
    registry = Registry(settings.resolved_registry_path)
    register_demo_models(registry, settings.resolved_demo_models_dir)
    engine = Engine(registry, settings)
    image = picture(size)

    def request(seed: int) -> GenerationRequest:
        return GenerationRequest(
            Mode.IMG2IMG,
            "tiny-sd15",
            "a bench",
            num_inference_steps=steps,
            width=size,
            height=size,
            image=image,
            strength=1.0,
            seed=seed,
        )

    engine.generate(request(0))  # load and warm up
    started = time.perf_counter()
    for i in range(n):
        engine.generate(request(i))
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=8, help="concurrent requests")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between job polls per client")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.mkdtemp(prefix="diffuserve-bench-")))
    args = parser.parse_args()

    engine_alone = engine_per_image(args.data_dir / "engine", args.size, args.steps, args.n)

    body = {
        "modelId": "tiny-sd15",
        "prompt": "a bench",
        "numSamples": 1,
        "numInferenceSteps": args.steps,
        "width": args.size,
        "height": args.size,
        "strength": 1.0,
        "image": data_url(picture(args.size)),
    }
    with serve(args.data_dir / "service") as base_url, httpx.Client(base_url=base_url, timeout=120) as client:
        warm = client.post("/v1/generate/img2img", json=body).json()["job"]["jobId"]
        wait_for(client, warm, args.poll)  # loads the model

        def one(i: int) -> None:
            job_id = client.post("/v1/generate/img2img", json={**body, "seed": i}).json()["job"]["jobId"]
            job = wait_for(client, job_id, args.poll)
            assert job["status"] == "success", job
            asset = client.get(f"/v1/assets/{job['metadata']['assetIds'][0]}").json()["asset"]
            assert httpx.get(asset["url"]).status_code == 200

        started = time.perf_counter()
        with ThreadPoolExecutor(args.n) as pool:
            list(pool.map(one, range(args.n)))
        http_total = time.perf_counter() - started
    http_per_image = http_total / args.n
    print(
        f"img2img tiny-sd15 {args.size}x{args.size}, {args.steps} steps, {args.n} concurrent requests, "
        f"poll every {args.poll}s"
    )
    print(f"engine alone:  {engine_alone * 1000:8.1f} ms/image")
    print(f"through HTTP:  {http_per_image * 1000:8.1f} ms/image (submit, poll, fetch asset)")
    print(f"overhead ratio: {http_per_image / engine_alone:6.2f}x")
    print(f"throughput:     {args.n / http_total:6.2f} images/s")


if __name__ == "__main__":
    main()
