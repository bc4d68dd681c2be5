"""GPU throughput: full-size SD 1.5 (512x512) and SDXL (1024x1024) with random weights, eager and compiled.

The components are built from the published configs (written out below, nothing is downloaded) with random
weights, in float16 on CUDA. For each model, variant and batch size: one warm-up call ("first s"; for the compiled
variant it includes compiling for the new shape), then the median of --repeats timed calls of the whole pipeline
(prompt encoding, --steps denoising steps with classifier-free guidance, VAE decode), one CPU generator per image
as the engine seeds them. Prints images/s, it/s (steps / wall time, as published benchmarks count them), achieved
TFLOP/s and MFU against --peak-tflops (default: H100/H200 dense bf16/fp16, 989).

"compiled" is what diffuserve's speed settings do with DIFFUSERVE_COMPILE=1, DIFFUSERVE_CHANNELS_LAST=1 and
DIFFUSERVE_FUSE_QKV=1 (diffuserve.engine.speed.apply_speed_settings), applied after the eager rows.

FLOPs per image are counted with torch.utils.flop_counter.FlopCounterMode on the meta device: one UNet step at
batch 2 (CFG) times the steps, plus one VAE decode, printed beside the reference figures (SD 1.5 512x512 30 steps
about 50.7 TFLOP; SDXL 1024x1024 30 steps about 416 TFLOP).

--tiny runs the repository's tiny models on the CPU (64x64, 2 steps, batches 1 and 2) so that CI keeps this script
working; its figures mean nothing. Not a test: nothing is asserted.

    python bench/gpu.py [--models sd15 sdxl] [--batches 1 4 8 16] [--steps 30] [--repeats 3]
                        [--peak-tflops 989] [--compile-mode default] [--vae-slicing] [--no-compile]
    python bench/gpu.py --tiny
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from diffusers.utils import logging as diffusers_logging
from torch.utils.flop_counter import FlopCounterMode
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from diffuserve.config import Settings
from diffuserve.engine.speed import apply_speed_settings
from diffuserve.engine.tiny import sd15 as tiny_sd15
from diffuserve.engine.tiny import sdxl as tiny_sdxl
from diffuserve.engine.tiny.tokenizer import build_tokenizer

PROMPT = "a lighthouse on a cliff at dusk, oil painting"
GUIDANCE = 7.5
PEAK_TFLOPS = 989.0  # H100 / H200 SXM dense bf16 and fp16 tensor-core peak
# Reference FLOPs per image (TFLOP) at 30 steps with CFG and VAE decode, from the same counting method.
REFERENCE_TFLOP_30_STEPS = {"sd15": 50.7, "sdxl": 416.0}

# runwayml/stable-diffusion-v1-5: unet/config.json, vae/config.json and text_encoder/config.json (CLIP ViT-L/14).
SD15_UNET: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "act_fn": "silu",
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "downsample_padding": 1,
    "mid_block_scale_factor": 1,
}
SD_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "act_fn": "silu",
    "sample_size": 512,
    "scaling_factor": 0.18215,
}
CLIP_L: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
}
# stabilityai/stable-diffusion-xl-base-1.0: unet, vae (with force_upcast off, as the fp16-fix VAE that fp16
# serving needs), text_encoder (CLIP ViT-L/14, as above) and text_encoder_2 (OpenCLIP ViT-bigG/14).
SDXL_UNET: dict[str, Any] = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
    "norm_num_groups": 32,
    "act_fn": "silu",
    "flip_sin_to_cos": True,
    "freq_shift": 0,
}
SDXL_VAE: dict[str, Any] = {**SD_VAE, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": False}
CLIP_BIGG: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "max_position_embeddings": 77,
    "hidden_act": "gelu",
    "projection_dim": 1280,
}


@dataclass(frozen=True)
class Model:
    """One benchmarked model: its image size and how to build its pipeline with its modules on a device."""

    name: str
    size: int
    build: Callable[[torch.device], DiffusionPipeline]


def _scheduler() -> EulerDiscreteScheduler:
    return EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="leading",
        steps_offset=1,
    )


def _text_config(values: dict[str, Any]) -> CLIPTextConfig:
    tokenizer = build_tokenizer()
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    return CLIPTextConfig(**values, **ids, pad_token_id=tokenizer.pad_token_id)


def _sd15(tiny: bool, device: torch.device) -> DiffusionPipeline:
    tokenizer = build_tokenizer()
    with torch.device(device):
        if tiny:
            unet = tiny_sd15.build_unet(seed=0, in_channels=4)
            vae = tiny_sd15.build_vae(seed=1, scaling_factor=0.18215)
            text_encoder = CLIPTextModel(tiny_sd15.text_config(tokenizer))
        else:
            unet, vae = UNet2DConditionModel(**SD15_UNET), AutoencoderKL(**SD_VAE)
            text_encoder = CLIPTextModel(_text_config(CLIP_L))
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _sdxl(tiny: bool, device: torch.device) -> DiffusionPipeline:
    tokenizer = build_tokenizer()
    with torch.device(device):
        if tiny:
            config = tiny_sd15.text_config(tokenizer)
            pooled = config.projection_dim
            unet = tiny_sdxl.build_sdxl_unet(seed=0, text_hidden=config.hidden_size, pooled_dim=pooled)
            vae = tiny_sd15.build_vae(seed=1, scaling_factor=0.13025)
            text_encoder, text_encoder_2 = CLIPTextModel(config), CLIPTextModelWithProjection(config)
        else:
            unet, vae = UNet2DConditionModel(**SDXL_UNET), AutoencoderKL(**SDXL_VAE)
            text_encoder = CLIPTextModel(_text_config(CLIP_L))
            text_encoder_2 = CLIPTextModelWithProjection(_text_config(CLIP_BIGG))
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder.eval(),
        text_encoder_2=text_encoder_2.eval(),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=_scheduler(),
        add_watermarker=False,
    )


def models(tiny: bool) -> dict[str, Model]:
    return {
        "sd15": Model("sd15", 64 if tiny else 512, lambda device: _sd15(tiny, device)),
        "sdxl": Model("sdxl", 64 if tiny else 1024, lambda device: _sdxl(tiny, device)),
    }


def flops_per_image(model: Model, steps: int) -> tuple[float, float, float]:
    """(UNet step with CFG, VAE decode, whole image) in FLOPs, counted on the meta device."""
    pipe = model.build(torch.device("meta"))
    unet, vae = pipe.unet, pipe.vae
    latent = model.size // pipe.vae_scale_factor
    with torch.device("meta"), torch.no_grad():
        sample = torch.empty(2, unet.config.in_channels, latent, latent)
        text = torch.empty(2, pipe.tokenizer.model_max_length, unet.config.cross_attention_dim)
        kwargs: dict[str, Any] = {}
        if unet.config.addition_embed_type == "text_time":  # SDXL: pooled text and 6 size/crop numbers
            pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
            kwargs["added_cond_kwargs"] = {"text_embeds": torch.empty(2, pooled), "time_ids": torch.empty(2, 6)}
        with FlopCounterMode(display=False) as unet_counter:
            unet(sample, torch.tensor(999), encoder_hidden_states=text, **kwargs)
        with FlopCounterMode(display=False) as vae_counter:
            vae.decode(torch.empty(1, vae.config.latent_channels, latent, latent))
    step, decode = float(unet_counter.get_total_flops()), float(vae_counter.get_total_flops())
    return step, decode, steps * step + decode


def speed_settings(**switches: Any) -> Settings:
    """Settings with exactly `switches` on, whatever DIFFUSERVE_* variables the environment holds."""
    off = {"compile": False, "channels_last": False, "fuse_qkv": False, "vae_slicing": False, "vae_tiling": False}
    return Settings(**{**off, "lora_hotswap_rank": 0, **switches})


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batch(pipe: DiffusionPipeline, model: Model, batch: int, steps: int, repeats: int) -> tuple[float, float]:
    """(first call, median of the next `repeats`) in seconds for one call generating `batch` images."""

    def call() -> float:
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in range(batch)]
        _sync(pipe.device)
        started = time.perf_counter()
        with torch.inference_mode():
            pipe(
                PROMPT,
                num_inference_steps=steps,
                guidance_scale=GUIDANCE,
                width=model.size,
                height=model.size,
                num_images_per_prompt=batch,
                generator=generators,
                output_type="pt",
            )
        _sync(pipe.device)
        return time.perf_counter() - started

    first = call()
    return first, statistics.median(call() for _ in range(repeats))


def run_model(model: Model, args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> None:
    step, decode, per_image = flops_per_image(model, args.steps)
    torch.manual_seed(0)
    pipe = model.build(device).to(dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for p in pipe.unet.parameters()) / 1e9
    print(
        f"\n{model.name} {model.size}x{model.size}, {args.steps} steps, CFG {GUIDANCE}, {dtype}, UNet {params:.3f} B "
        f"params; FLOPs per image: {per_image / 1e12:.4g} TFLOP measured (UNet step with CFG "
        f"{step / 1e12:.4g} x {args.steps} + VAE decode {decode / 1e12:.4g})"
        + ("" if args.tiny else f"; reference at 30 steps: {REFERENCE_TFLOP_30_STEPS[model.name]} TFLOP")
    )
    print(f"{'variant':<9} {'batch':>5} {'first s':>9} {'s/batch':>9} {'images/s':>9} {'it/s':>8} {'TFLOP/s':>9} MFU")
    variants = [("eager", speed_settings(vae_slicing=args.vae_slicing))]
    if args.compile:
        compiled = speed_settings(
            compile=True,
            compile_mode=args.compile_mode,
            channels_last=True,
            fuse_qkv=True,
            vae_slicing=args.vae_slicing,
        )
        variants.append(("compiled", compiled))
    for variant, settings in variants:
        apply_speed_settings(pipe, settings)
        for batch in args.batches:
            try:
                first, seconds = time_batch(pipe, model, batch, args.steps, args.repeats)
            except torch.cuda.OutOfMemoryError:
                print(f"{variant:<9} {batch:>5} out of memory")
                torch.cuda.empty_cache()
                continue
            images_per_s = batch / seconds
            tflops = images_per_s * per_image / 1e12
            print(
                f"{variant:<9} {batch:>5} {first:>9.3f} {seconds:>9.3f} {images_per_s:>9.3f} "
                f"{args.steps / seconds:>8.2f} {tflops:>9.3f} {100 * tflops / args.peak_tflops:.3g}%"
            )
    del pipe
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny models on the CPU, 64x64, 2 steps, batches 1, 2")
    parser.add_argument("--models", nargs="*", choices=["sd15", "sdxl"], default=["sd15", "sdxl"])
    parser.add_argument("--batches", nargs="*", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--peak-tflops", type=float, default=PEAK_TFLOPS, help="the device's peak, for MFU")
    parser.add_argument(
        "--compile-mode", default="default", choices=get_args(Settings.model_fields["compile_mode"].annotation)
    )
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="eager rows only")
    parser.add_argument("--vae-slicing", action="store_true", help="decode large batches one image at a time")
    args = parser.parse_args()
    args.batches = args.batches or ([1, 2] if args.tiny else [1, 4, 8, 16])
    args.steps = args.steps or (2 if args.tiny else 30)
    args.repeats = args.repeats or (1 if args.tiny else 3)
    if args.tiny:
        device, dtype = torch.device("cpu"), torch.float32
        torch.set_num_threads(1)  # inductor's CPU kernels crawl when OpenMP threads outnumber free cores
    elif torch.cuda.is_available():
        device, dtype = torch.device("cuda"), torch.float16
    else:
        parser.error("no CUDA device: run with --tiny on the CPU")
    diffusers_logging.disable_progress_bar()
    diffusers_logging.set_verbosity_error()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (tiny models; figures mean nothing)"
    print(f"device: {name}; torch {torch.__version__}; peak {args.peak_tflops:g} TFLOP/s (--peak-tflops)")
    for key in args.models:
        run_model(models(args.tiny)[key], args, device, dtype)


if __name__ == "__main__":
    main()
