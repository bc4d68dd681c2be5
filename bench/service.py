"""Service overhead: N concurrent img2img requests on the tiny model through HTTP, beside the engine alone.

Prints time per image for both, the overhead ratio (HTTP / engine) and the HTTP throughput. Not a test.

    python bench/service.py [--n 8] [--size 512] [--steps 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diffuserve.config import Settings
from diffuserve.engine.demo import register_demo_models
from diffuserve.engine.engine import Engine
from diffuserve.engine.registry import Registry
from diffuserve.engine.types import GenerationRequest, Mode
from tests.service_helpers import data_url, picture, run_service, wait_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8, help="concurrent requests")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.mkdtemp(prefix="diffuserve-bench-")))
    args = parser.parse_args()

    settings = Settings(data_dir=args.data_dir)
    registry = Registry(settings.resolved_registry_path)
    register_demo_models(registry, settings.resolved_demo_models_dir)
    engine = Engine(registry, settings)
    image = picture(args.size)
    request = GenerationRequest(
        Mode.IMG2IMG,
        "tiny-sd15",
        "a bench",
        num_inference_steps=args.steps,
        width=args.size,
        height=args.size,
        image=image,
        strength=1.0,
        seed=1,
    )
    engine.generate(request)  # load and warm up

    def engine_alone() -> float:
        started = time.perf_counter()
        for i in range(args.n):
            engine.generate(GenerationRequest(**{**request.__dict__, "seed": i}))
        return (time.perf_counter() - started) / args.n

    before = engine_alone()

    body = {
        "modelId": "tiny-sd15",
        "prompt": "a bench",
        "numSamples": 1,
        "numInferenceSteps": args.steps,
        "width": args.size,
        "height": args.size,
        "strength": 1.0,
        "image": data_url(image),
    }
    with (
        run_service(args.data_dir / "service", engine, open_mode=True) as service,
        service.client() as client,
    ):
        wait_for(client, client.post("/v1/generate/img2img", json=body).json()["job"]["jobId"])  # warm up

        def one(i: int) -> None:
            job_id = client.post("/v1/generate/img2img", json={**body, "seed": i}).json()["job"]["jobId"]
            job = wait_for(client, job_id, timeout_s=600)
            assert job["status"] == "success", job
            asset = client.get(f"/v1/assets/{job['metadata']['assetIds'][0]}").json()["asset"]
            assert httpx.get(asset["url"]).status_code == 200

        started = time.perf_counter()
        with ThreadPoolExecutor(args.n) as pool:
            list(pool.map(one, range(args.n)))
        http_total = time.perf_counter() - started
    http_per_image = http_total / args.n
    engine_per_image = min(before, engine_alone())  # measured before and after, the quieter one kept

    print(f"img2img tiny-sd15 {args.size}x{args.size}, {args.steps} steps, {args.n} concurrent requests")
    print(f"engine alone:  {engine_per_image * 1000:8.1f} ms/image")
    print(f"through HTTP:  {http_per_image * 1000:8.1f} ms/image (submit, poll, fetch asset)")
    print(f"overhead ratio: {http_per_image / engine_per_image:6.2f}x")
    print(f"throughput:     {args.n / http_total:6.2f} images/s")


if __name__ == "__main__":
    main()
