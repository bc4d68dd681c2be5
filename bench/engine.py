"""Engine overhead: per mode at 512x512 on the tiny SD 1.5 model, the engine beside a bare diffusers call.

Each (mode, implementation) runs in its own process so peak memory is its own: max RSS on the CPU, peak
allocated CUDA memory on a GPU. Prints wall time (median of --repeats after one warm-up) and the ratios.

    python bench/engine.py [--steps 4] [--repeats 3] [--size 512] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ["txt2img", "img2img", "inpaint", "txt2img-ip-adapter", "img2img-ip-adapter", "inpaint-ip-adapter"]


def _inputs(size: int) -> dict[str, Any]:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (120, 160, 200))
    ImageDraw.Draw(image).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(200, 80, 40))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle((size // 3, size // 3, 2 * size // 3, 2 * size // 3), fill=255)
    reference = Image.new("RGB", (224, 224), (30, 200, 90))
    return {"image": image, "mask": mask, "reference": reference}


def _engine_runner(root: Path, mode: str, size: int, steps: int) -> Any:
    from diffuserve.catalog.registry import Registry
    from diffuserve.catalog.types import GenerationRequest, Mode
    from diffuserve.config import Settings
    from diffuserve.engine.engine import Engine
    from diffuserve.engine.tiny import build_demo_models

    registry = Registry(root / "models.yaml")
    for spec in build_demo_models(root / "demo"):
        registry.add(spec, replace=True)
    engine = Engine(registry, Settings(data_dir=root))
    m, data = Mode(mode), _inputs(size)
    request = GenerationRequest(
        mode=m,
        model_id="tiny-sd15",
        prompt="a lighthouse at dusk",
        num_inference_steps=steps,
        width=size,
        height=size,
        seed=1,
        strength=1.0 if m.uses_image else None,
        image=data["image"] if m.uses_image else None,
        mask=data["mask"] if m.uses_mask else None,
        ip_adapter_images=(data["reference"],) if m.uses_ip_adapter else (),
        ip_adapter_scales=(0.6,),
        disable_merging=True,
    )
    return lambda: engine.generate(request)


def _bare_runner(root: Path, mode: str, size: int, steps: int) -> Any:
    import torch
    from diffusers import (
        PNDMScheduler,
        StableDiffusionImg2ImgPipeline,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
    )

    from diffuserve.engine.tiny import build_demo_models

    specs = {s.id: s for s in build_demo_models(root / "demo")}
    spec = specs["tiny-sd15"]
    base_mode = mode.removesuffix("-ip-adapter")
    if base_mode == "inpaint":
        assert spec.inpaint_source is not None
        pipe = StableDiffusionInpaintPipeline.from_pretrained(spec.inpaint_source.path, safety_checker=None)
    else:
        cls = StableDiffusionPipeline if base_mode == "txt2img" else StableDiffusionImg2ImgPipeline
        pipe = cls.from_pretrained(spec.source.path, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    data = _inputs(size)
    kwargs: dict[str, Any] = {"prompt": "a lighthouse at dusk", "num_inference_steps": steps, "guidance_scale": 7.5}
    if base_mode != "img2img":
        kwargs.update(width=size, height=size)
    if base_mode != "txt2img":
        kwargs.update(image=data["image"], strength=1.0)
    if base_mode == "inpaint":
        kwargs["mask_image"] = data["mask"]
    if mode.endswith("ip-adapter"):
        ip = spec.ip_adapters[next(iter(spec.ip_adapters))]
        pipe.load_ip_adapter(
            str(Path(ip.weights).parent),
            subfolder="",
            weight_name=Path(ip.weights).name,
            image_encoder_folder=ip.image_encoder,
            local_files_only=True,
        )
        pipe.set_ip_adapter_scale(0.6)
        kwargs["ip_adapter_image"] = data["reference"]

    def run() -> Any:
        pipe.scheduler = PNDMScheduler.from_config(pipe.scheduler.config)
        return pipe(**kwargs, generator=[torch.Generator("cpu").manual_seed(1)])

    return run


def child(args: argparse.Namespace) -> None:
    import torch

    root = Path(args.data_dir)
    make = _engine_runner if args.impl == "engine" else _bare_runner
    run = make(root, args.mode, args.size, args.steps)
    run()  # warm-up: loads weights, first-call allocations
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    if torch.cuda.is_available():
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": statistics.median(times), "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--data-dir")
    parser.add_argument("--modes", nargs="*", default=MODES)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", choices=["engine", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="diffuserve-bench-")
    print(
        f"tiny-sd15, {args.size}x{args.size}, {args.steps} steps, median of {args.repeats}; "
        "memory: peak RSS (CPU) or peak CUDA allocation"
    )
    print(f"{'mode':<20} {'engine s':>9} {'bare s':>8} {'ratio':>6} {'engine MB':>10} {'bare MB':>8} {'ratio':>6}")
    for mode in args.modes:
        row = {}
        for impl in ("engine", "bare"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--impl",
                    impl,
                    "--mode",
                    mode,
                    "--steps",
                    str(args.steps),
                    "--repeats",
                    str(args.repeats),
                    "--size",
                    str(args.size),
                    "--data-dir",
                    data_dir,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            row[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        e, b = row["engine"], row["bare"]
        print(
            f"{mode:<20} {e['seconds']:>9.3f} {b['seconds']:>8.3f} {e['seconds'] / b['seconds']:>6.2f} "
            f"{e['peak_mb']:>10.0f} {b['peak_mb']:>8.0f} {e['peak_mb'] / b['peak_mb']:>6.2f}"
        )


if __name__ == "__main__":
    main()
