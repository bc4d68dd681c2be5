"""GPU throughput: full-size SD 1.5 (512x512), SDXL (1024x1024) and FLUX.1-dev (1024x1024, 28 steps, bf16) with
random weights, eager and compiled.

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
about 50.7 TFLOP; SDXL 1024x1024 30 steps about 416 TFLOP). FLUX.1-dev has distilled guidance, so one transformer
pass per step (no CFG), 4096 image + 512 T5 tokens at 1024x1024: about 2.1 PFLOP per image at 28 steps (for scale:
the fastest published lossless stack reaches 128.9 ms per step on one H100). FLUX runs in bfloat16 (fp16 overflows
in its activations), the UNet models in float16.

Then the same through the service (--no-service skips it): the pipeline, saved with save_pretrained before the
compiled rows (safetensors, in the benchmark's dtype) into a temporary folder, is the only model of a registry file
for a `diffuserve serve` subprocess (open mode, DIFFUSERVE_DEMO_MODELS=false, the same device and dtype, speed
switches off as in the eager rows, DIFFUSERVE_MAX_BATCH_IMAGES = the largest batch). --clients threads (32) each
submit one txt2img image at the benchmark's size, steps and guidance and poll its job every 0.05 s: first one
warm-up batch (as many clients as the batch cap, one image each: it loads the model; its wall time is printed), then
--service-rounds timed rounds per client. Prints the service's images/s, p50 and p95 latency, mean batch (from the
server log), TFLOP/s and MFU (same FLOPs per image) and the ratio of its images/s to the bare eager pipeline's at
that batch size.

--tiny runs the repository's tiny models on the CPU (64x64, 2 steps, batches 1 and 2; service: 4 clients, 1 round,
batch cap 2, SDXL and FLUX at the service's smallest sizes 512x512 and 128x128 so no ratio) so that CI keeps this
script working; its figures mean nothing. Not a test: nothing is asserted.

    python bench/gpu.py [--models sd15 sdxl flux1] [--batches 1 4 8 16] [--steps 30 (FLUX: 28)] [--repeats 3]
                        [--peak-tflops 989] [--compile-mode default] [--vae-slicing] [--no-compile]
                        [--no-service] [--clients 32] [--service-rounds 2]
    python bench/gpu.py --tiny
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import httpx
import torch
import yaml
from _serve import client_limits, percentile, run_clients, serve
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    EulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from diffusers.utils import logging as diffusers_logging
from torch.utils.flop_counter import FlopCounterMode
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5Config, T5EncoderModel
from transformers.utils import logging as transformers_logging

from diffuserve.catalog.validation import LIMITS
from diffuserve.config import Settings
from diffuserve.engine.speed import apply_speed_settings
from diffuserve.engine.tiny import flux as tiny_flux
from diffuserve.engine.tiny import sd15 as tiny_sd15
from diffuserve.engine.tiny import sdxl as tiny_sdxl
from diffuserve.engine.tiny.tokenizer import build_tokenizer, save_tokenizer

PROMPT = "a lighthouse on a cliff at dusk, oil painting"
GUIDANCE = 7.5
FLUX_GUIDANCE = 3.5  # FLUX.1-dev's distilled guidance: an input of the transformer, one pass per step
PEAK_TFLOPS = 989.0  # H100 / H200 SXM dense bf16 and fp16 tensor-core peak
# Reference FLOPs per image (TFLOP) at 30 steps with CFG and VAE decode, from the same counting method.
REFERENCE_TFLOP_30_STEPS = {"sd15": 50.7, "sdxl": 416.0}
REFERENCE_FLUX_PFLOP_28_STEPS = 2.1  # FLUX.1-dev 1024x1024, 28 steps, no true CFG (issue 9)
# The registry's model type for each benchmarked model.
MODEL_TYPES = {"sd15": "sd-1_5", "sdxl": "sd-xl", "flux1": "flux.1"}
# The worker's log line for each batch it takes (diffuserve.jobs.worker).
BATCH_CLAIMED = re.compile(r"batch claimed .*?\bimages=(\d+)")

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

# black-forest-labs/FLUX.1-dev: transformer/config.json (12 B), text_encoder_2 (google/t5-v1_1-xxl encoder, 4.8 B),
# vae/config.json (16 latent channels); text_encoder is CLIP ViT-L/14 as above (its pooled output).
FLUX_TRANSFORMER: dict[str, Any] = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": (16, 56, 56),
}
T5_XXL: dict[str, Any] = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "feed_forward_proj": "gated-gelu",
    "relative_attention_num_buckets": 32,
    "is_encoder_decoder": False,
    "use_cache": False,
}
FLUX_VAE: dict[str, Any] = {
    **SD_VAE,
    "latent_channels": 16,
    "sample_size": 1024,
    "scaling_factor": 0.3611,
    "shift_factor": 0.1159,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
FLUX_TEXT_TOKENS = 512  # FLUX.1-dev's T5 sequence length


@dataclass(frozen=True)
class Model:
    """One benchmarked model: its image size and how to build its pipeline with its modules on a device."""

    name: str
    size: int
    build: Callable[[torch.device], DiffusionPipeline]
    default_steps: int = 30
    guidance: float = GUIDANCE
    cfg: bool = True  # classifier-free guidance: two denoiser rows per image
    dtype: torch.dtype = torch.float16  # on CUDA

    def denoiser(self, pipe: DiffusionPipeline) -> Any:
        return pipe.transformer if self.name == "flux1" else pipe.unet

    def call_kwargs(self) -> dict[str, Any]:
        return {"max_sequence_length": FLUX_TEXT_TOKENS} if self.name == "flux1" else {}


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


def _flux(tiny: bool, device: torch.device) -> DiffusionPipeline:
    tokenizer = build_tokenizer()
    tokenizer_2 = tiny_flux.build_t5_tokenizer(max_length=FLUX_TEXT_TOKENS)  # ids stay below any vocab size
    with torch.device(device):
        if tiny:
            transformer = tiny_flux.build_transformer(seed=0)
            vae = tiny_flux.build_vae(seed=1)
            text_encoder = CLIPTextModel(tiny_sd15.text_config(tokenizer))
            t5 = T5Config(
                vocab_size=len(tokenizer_2), d_model=tiny_flux.TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2, num_heads=4
            )
        else:
            transformer, vae = FluxTransformer2DModel(**FLUX_TRANSFORMER), AutoencoderKL(**FLUX_VAE)
            text_encoder, t5 = CLIPTextModel(_text_config(CLIP_L)), T5Config(**T5_XXL)
        text_encoder_2 = T5EncoderModel(t5)
    return FluxPipeline(
        scheduler=tiny_flux.scheduler(),
        vae=vae,
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2.eval(),
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )


def models(tiny: bool) -> dict[str, Model]:
    return {
        "sd15": Model("sd15", 64 if tiny else 512, lambda device: _sd15(tiny, device)),
        "sdxl": Model("sdxl", 64 if tiny else 1024, lambda device: _sdxl(tiny, device)),
        "flux1": Model(
            "flux1",
            64 if tiny else 1024,
            lambda device: _flux(tiny, device),
            default_steps=28,
            guidance=FLUX_GUIDANCE,
            cfg=False,
            dtype=torch.bfloat16,
        ),
    }


def flops_per_image(model: Model, steps: int, size: int | None = None) -> tuple[float, float, float]:
    """(denoiser step, with CFG where the model uses it; VAE decode; whole image) in FLOPs at `size` (default: the
    model's), counted on the meta device."""
    pipe = model.build(torch.device("meta"))
    vae = pipe.vae
    latent = (size or model.size) // pipe.vae_scale_factor
    with torch.device("meta"), torch.no_grad():
        flux = model.name == "flux1"
        step = _flux_step_flops(pipe.transformer, latent) if flux else _unet_step_flops(pipe, latent)
        with FlopCounterMode(display=False) as vae_counter:
            vae.decode(torch.empty(1, vae.config.latent_channels, latent, latent))
    decode = float(vae_counter.get_total_flops())
    return step, decode, steps * step + decode


def _unet_step_flops(pipe: DiffusionPipeline, latent: int) -> float:
    unet = pipe.unet
    sample = torch.empty(2, unet.config.in_channels, latent, latent)
    text = torch.empty(2, pipe.tokenizer.model_max_length, unet.config.cross_attention_dim)
    kwargs: dict[str, Any] = {}
    if unet.config.addition_embed_type == "text_time":  # SDXL: pooled text and 6 size/crop numbers
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        kwargs["added_cond_kwargs"] = {"text_embeds": torch.empty(2, pooled), "time_ids": torch.empty(2, 6)}
    with FlopCounterMode(display=False) as counter:
        unet(sample, torch.tensor(999), encoder_hidden_states=text, **kwargs)
    return float(counter.get_total_flops())


def _flux_step_flops(transformer: Any, latent: int) -> float:
    """One FLUX transformer pass at batch 1: (latent/2)² packed image tokens and 512 T5 tokens."""
    config = transformer.config
    tokens = (latent // 2) ** 2
    ids = torch.zeros(tokens, 3)
    with FlopCounterMode(display=False) as counter:
        transformer(
            hidden_states=torch.empty(1, tokens, config.in_channels),
            encoder_hidden_states=torch.empty(1, FLUX_TEXT_TOKENS, config.joint_attention_dim),
            pooled_projections=torch.empty(1, config.pooled_projection_dim),
            timestep=torch.ones(1),
            guidance=torch.ones(1) if config.guidance_embeds else None,
            txt_ids=torch.zeros(FLUX_TEXT_TOKENS, 3),
            img_ids=ids,
            return_dict=False,
        )
    return float(counter.get_total_flops())


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
                guidance_scale=model.guidance,
                **model.call_kwargs(),
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


def run_model(model: Model, args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> bool:
    """The model's rows, then (with --service) the same through the service; False when the service part failed."""
    steps = args.steps or model.default_steps
    dtype = dtype if device.type == "cpu" else model.dtype
    step, decode, per_image = flops_per_image(model, steps)
    torch.manual_seed(0)
    pipe = model.build(device).to(dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    denoiser = model.denoiser(pipe)
    params = sum(p.numel() for p in denoiser.parameters()) / 1e9
    kind = "UNet" if model.name != "flux1" else "transformer"
    guidance = f"CFG {model.guidance}" if model.cfg else f"distilled guidance {model.guidance} (no CFG)"
    if args.tiny:
        reference = ""
    elif model.name == "flux1":
        reference = f"; reference at 28 steps: {REFERENCE_FLUX_PFLOP_28_STEPS} PFLOP"
    else:
        reference = f"; reference at 30 steps: {REFERENCE_TFLOP_30_STEPS[model.name]} TFLOP"
    print(
        f"\n{model.name} {model.size}x{model.size}, {steps} steps, {guidance}, {dtype}, {kind} {params:.3f} B "
        f"params; FLOPs per image: {per_image / 1e12:.4g} TFLOP measured ({kind} step"
        f"{' with CFG' if model.cfg else ''} {step / 1e12:.4g} x {steps} + VAE decode {decode / 1e12:.4g})" + reference
    )
    args = argparse.Namespace(**{**vars(args), "steps": steps})
    with tempfile.TemporaryDirectory(prefix=f"diffuserve-gpu-{model.name}-") as tmp:
        root = Path(tmp)
        if args.service:
            save_model(pipe, root / model.name)  # before the speed settings change its modules
        eager = run_variants(pipe, model, args, per_image)
        del pipe
        _release(device)
        if not args.service:
            return True
        try:
            run_service(model, args, root, device, dtype, eager, per_image)
        except (RuntimeError, OSError, httpx.HTTPError) as exc:
            print(f"service: failed: {exc}")
            return False
    return True


def run_variants(pipe: DiffusionPipeline, model: Model, args: argparse.Namespace, per_image: float) -> dict[int, float]:
    """Prints the table of rows; returns the eager rows' images/s by batch size."""
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
    eager: dict[int, float] = {}
    for variant, settings in variants:
        apply_speed_settings(pipe, settings, model.denoiser(pipe))
        for batch in args.batches:
            try:
                first, seconds = time_batch(pipe, model, batch, args.steps, args.repeats)
            except torch.cuda.OutOfMemoryError:
                print(f"{variant:<9} {batch:>5} out of memory")
                torch.cuda.empty_cache()
                continue
            images_per_s = batch / seconds
            if variant == "eager":
                eager[batch] = images_per_s
            tflops = images_per_s * per_image / 1e12
            print(
                f"{variant:<9} {batch:>5} {first:>9.3f} {seconds:>9.3f} {images_per_s:>9.3f} "
                f"{args.steps / seconds:>8.2f} {tflops:>9.3f} {100 * tflops / args.peak_tflops:.3g}%"
            )
    return eager


def _release(device: torch.device) -> None:
    """Frees what the deleted pipeline held, compiled graphs included, before the server needs the memory."""
    torch._dynamo.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def save_model(pipe: DiffusionPipeline, folder: Path) -> None:
    """A diffusers folder the service loads: safetensors in the pipeline's dtype, tokenizers in both formats."""
    pipe.save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer", "tokenizer_2"):
        tokenizer = getattr(pipe, name, None)
        if tokenizer is not None and type(tokenizer).__name__ == "CLIPTokenizer":  # T5's saves as it is
            save_tokenizer(tokenizer, folder / name)


def run_service(
    model: Model,
    args: argparse.Namespace,
    root: Path,
    device: torch.device,
    dtype: torch.dtype,
    eager: dict[int, float],
    per_image: float,
) -> None:
    """Serves the model saved under root/<name> and prints what --clients one-image clients get from it."""
    cap = max(args.batches)
    size = max(model.size, LIMITS[model.name].min_size)  # tiny SDXL: the service takes 512 px and up
    if size != model.size:
        per_image = flops_per_image(model, args.steps, size)[2]
    model_id = f"bench-{model.name}"
    registry = root / "models.yaml"
    entry = {
        "id": model_id,
        "name": f"bench/gpu.py {model.name}, random weights",
        "type": MODEL_TYPES[model.name],
        "source": {"kind": "folder", "path": str(root / model.name)},
    }
    registry.write_text(yaml.safe_dump({"models": [entry]}, sort_keys=False))
    env = {
        "DIFFUSERVE_REGISTRY_PATH": str(registry),
        "DIFFUSERVE_DEMO_MODELS": "false",
        "DIFFUSERVE_DEVICE": device.type,
        "DIFFUSERVE_DTYPE": str(dtype).removeprefix("torch."),
        "DIFFUSERVE_MAX_BATCH_IMAGES": str(cap),
        # As the eager rows: speed switches off, whatever the environment says.
        "DIFFUSERVE_COMPILE": "false",
        "DIFFUSERVE_CHANNELS_LAST": "false",
        "DIFFUSERVE_FUSE_QKV": "false",
        "DIFFUSERVE_VAE_SLICING": str(args.vae_slicing).lower(),
        "DIFFUSERVE_VAE_TILING": "false",
        "DIFFUSERVE_LORA_HOTSWAP_RANK": "0",
    }
    if args.tiny:  # one torch thread, as this process runs the tiny rows with
        env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    body = {
        "modelId": model_id,
        "prompt": PROMPT,
        "numSamples": 1,
        "numInferenceSteps": args.steps,
        "guidance": model.guidance,
        "width": size,
        "height": size,
    }
    print(
        f"service: {args.clients} clients x {args.service_rounds} round(s) of 1 image at {size}x{size} after a warm-up "
        f"batch, DIFFUSERVE_MAX_BATCH_IMAGES={cap}, speed switches off (as eager)"
    )
    log = root / "data" / "server.log"  # where serve() sends the server's output
    with (
        serve(root / "data", env) as base_url,
        httpx.Client(base_url=base_url, timeout=300, limits=client_limits(args.clients)) as client,
    ):
        started = time.perf_counter()
        warm_up = run_clients(client, body, min(cap, args.clients), 1, seed0=0)  # loads the model
        warm_up_s = time.perf_counter() - started
        log_offset = log.stat().st_size
        started = time.perf_counter()
        outcome = run_clients(client, body, args.clients, args.service_rounds, seed0=cap)
        wall_s = time.perf_counter() - started
    with log.open("rb") as f:
        f.seek(log_offset)
        batches = [int(n) for n in BATCH_CLAIMED.findall(f.read().decode(errors="replace"))]
    mean_batch = f"{sum(batches) / len(batches):.2f}" if batches else "n/a"
    images = len(outcome.latencies)
    images_per_s = images / wall_s
    tflops = images_per_s * per_image / 1e12
    mfu = 100 * tflops / args.peak_tflops
    print(
        f"service: {images_per_s:.3f} images/s ({images} images in {wall_s:.2f} s; warm-up batch {warm_up_s:.2f} s, "
        f"loads the model), latency p50 {percentile(outcome.latencies, 50):.3f} s, "
        f"p95 {percentile(outcome.latencies, 95):.3f} s, mean batch {mean_batch}, {tflops:.3f} TFLOP/s, MFU {mfu:.3g}%"
    )
    if size != model.size:
        ratio = f"n/a (service at {size}x{size}, rows at {model.size}x{model.size})"
    elif eager.get(cap):
        ratio = f"{images_per_s / eager[cap]:.3f}x ({images_per_s:.3f} / {eager[cap]:.3f})"
    else:
        ratio = f"n/a (no eager row at batch {cap})"
    print(f"service: images/s service / bare eager at batch {cap}: {ratio}")
    for name, failed in (("warm-up", warm_up.failures), ("timed", outcome.failures)):
        if failed:
            print(f"service: {len(failed)} {name} job(s) did not succeed (first: {failed[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny models on the CPU, 64x64, 2 steps, batches 1, 2")
    parser.add_argument("--models", nargs="*", choices=["sd15", "sdxl", "flux1"], default=["sd15", "sdxl", "flux1"])
    parser.add_argument("--batches", nargs="*", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--peak-tflops", type=float, default=PEAK_TFLOPS, help="the device's peak, for MFU")
    parser.add_argument(
        "--compile-mode", default="default", choices=get_args(Settings.model_fields["compile_mode"].annotation)
    )
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="eager rows only")
    parser.add_argument("--vae-slicing", action="store_true", help="decode large batches one image at a time")
    parser.add_argument(
        "--service", action=argparse.BooleanOptionalAction, default=True, help="also measure through diffuserve serve"
    )
    parser.add_argument("--clients", type=int, help="concurrent one-image clients of the service (32; tiny: 4)")
    parser.add_argument("--service-rounds", type=int, help="timed requests per client after the warm-up (2; tiny: 1)")
    args = parser.parse_args()
    args.batches = args.batches or ([1, 2] if args.tiny else [1, 4, 8, 16])
    args.steps = args.steps or (2 if args.tiny else None)  # None: each model's own (30; FLUX.1-dev 28)
    args.repeats = args.repeats or (1 if args.tiny else 3)
    args.clients = args.clients or (4 if args.tiny else 32)
    args.service_rounds = args.service_rounds or (1 if args.tiny else 2)
    if args.tiny:
        device, dtype = torch.device("cpu"), torch.float32
        torch.set_num_threads(1)  # inductor's CPU kernels crawl when OpenMP threads outnumber free cores
    elif torch.cuda.is_available():
        device, dtype = torch.device("cuda"), torch.float16
    else:
        parser.error("no CUDA device: run with --tiny on the CPU")
    diffusers_logging.disable_progress_bar()
    diffusers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()  # save_pretrained's "Writing model shards"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (tiny models; figures mean nothing)"
    print(f"device: {name}; torch {torch.__version__}; peak {args.peak_tflops:g} TFLOP/s (--peak-tflops)")
    ok = [run_model(models(args.tiny)[key], args, device, dtype) for key in args.models]
    if not all(ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
