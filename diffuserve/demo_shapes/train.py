"""Train demo-shapes from its seed and write the shipped weights: `python -m diffuserve.demo_shapes.train`.

Stages, each from the previous one's weights (kept in a work folder, so a stage can be re-run alone):
  vae      AutoencoderKL on rendered scenes (MSE + L1 + a tiny KL), 4x downsampling
  base     UNet + CLIP text encoder from scratch: DDPM noise, epsilon loss with min-SNR weighting, EMA
  refine   both continued with offset noise (the background's colour follows the prompt), fresh EMA
  polish   both continued with every noise level weighed alike and, at low noise, captions of other scenes: there
           the noisy image decides, not the caption, so guidance no longer repaints an img2img input
  inpaint  the 9-channel UNet, from the polished UNet (extra input channels start at zero), on masked scenes,
           with polish's captions of other scenes at low noise
  clip     the IP-Adapters' CLIP vision encoder, contrastive against the text encoder's captions
  ip       two IP-Adapters (basic projection = style, Plus resampler = character), the UNet and the vision
           encoder frozen; the reference overrides the caption's colours (style) or shape (character)
  lora     a peft LoRA on the frozen UNet that draws outlines instead of filled shapes
  export   the shipping formats and training.json (configuration, losses, times, sha256 of every file)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from diffusers.models.attention_processor import IPAdapterAttnProcessor2_0
from diffusers.models.embeddings import ImageProjection, IPAdapterPlusImageProjection
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel, compute_snr
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from transformers import CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection

from diffuserve.demo_shapes import data, export, models
from diffuserve.demo_shapes.scenes import CaptionStyle, Scene, caption
from diffuserve.demo_shapes.stages import STAGES, side_by_side
from diffuserve.demo_shapes.tokenizer import MAX_LENGTH, build_tokenizer

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).parent / "weights"
RECORD = "training.json"
# What the vision encoder's captions name: colours and shape, not size or place. With every attribute named, two
# captions in a batch almost never differ by shape alone, and the encoder learnt colours but hardly shapes.
CLIP_CAPTION = CaptionStyle(size=False, position=False)
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "conv1", "conv2")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the weights; recorded in training.json next to them."""

    seed: int = 1234
    threads: int = 1  # on a shared CPU one thread per process is far faster than two fighting for cores
    vae_images: int = 3000
    vae_steps: int = 3000
    vae_batch: int = 16
    vae_crop: int = 32  # the VAE is convolutional: training on crops is 4x cheaper
    vae_lr: float = 2e-3
    decoder_images: int = 3000
    decoder_steps: int = 600
    decoder_batch: int = 16
    decoder_lr: float = 1e-3
    decoder_foreground_weight: float = 10.0  # shapes are a small share of the pixels; weigh their errors up
    scenes: int = 16000
    base_steps: int = 7000
    base_batch: int = 32
    base_lr: float = 1e-3
    refine_steps: int = 4000
    refine_lr: float = 5e-4
    # Offset noise (diffusers' train_text_to_image --noise_offset) from the refine stage on: noise with a random
    # per-channel constant added, so the model learns to set an image's mean, which is its background's colour
    # here (plain noise leaves the mean of the starting latent to chance).
    noise_offset: float = 0.1
    polish_steps: int = 2000
    polish_lr: float = 3e-4
    # Polish: the share of rows whose caption describes another scene, at low noise (the full share up to
    # timestep `caption_swap_full`, falling to none at `caption_swap_none`): there the noisy image, not the
    # caption, decides, so guidance cannot repaint an img2img input at low strength.
    caption_swap: float = 1.0
    caption_swap_full: int = 300
    caption_swap_none: int = 500
    inpaint_scenes: int = 4000
    inpaint_steps: int = 2500
    inpaint_batch: int = 32
    inpaint_lr: float = 5e-4
    # The IP-Adapters' CLIP vision encoder, trained contrastively against the (frozen) text encoder's captions,
    # then frozen for the adapters, as h94's adapters use a frozen CLIP image encoder.
    clip_scenes: int = 8000
    clip_steps: int = 2000
    clip_batch: int = 128
    clip_lr: float = 1e-3
    clip_temperature: float = 0.07
    ip_pairs: int = 3000
    ip_steps: int = 3000
    ip_batch: int = 16  # per adapter
    ip_lr: float = 1e-3
    lora_scenes: int = 4000
    lora_steps: int = 1500
    lora_batch: int = 32
    lora_lr: float = 2e-3
    lora_rank: int = 8
    ema_max_decay: float = 0.999
    snr_gamma: float = 5.0  # min-SNR weighting of base, refine, inpaint and ip; polish and lora weigh steps alike
    # polish, ip and lora: loss weight of the latent pixels that show the target's shapes against the
    # background, which would otherwise dominate the error.
    foreground_weight: float = 5.0
    image_drop: float = 0.1  # IP-Adapter training: share of rows without a reference (the CFG negative)

    def caption_swap_chance(self, t: np.ndarray) -> np.ndarray:
        low, high = self.caption_swap_full, self.caption_swap_none
        chance: np.ndarray = self.caption_swap * np.clip((high - t) / (high - low), 0.0, 1.0)
        return chance

    def quick(self) -> TrainConfig:
        """Two steps per stage on tiny data sets: checks that the script runs end to end."""
        counts = {f.name: 2 for f in fields(self) if f.name.endswith("_steps")}
        sizes = {
            "vae_images": 16,
            "decoder_images": 16,
            "scenes": 32,
            "inpaint_scenes": 16,
            "ip_pairs": 16,
            "clip_scenes": 16,
            "lora_scenes": 16,
        }
        batches = {f.name: 4 for f in fields(self) if f.name.endswith("_batch")}
        return replace(self, **counts, **sizes, **batches)


class Stats:
    """Per stage: steps, seconds, loss at the start and mean loss over the last 10% of steps; one file per stage,
    so stages that run at the same time (decoder beside base, the variants beside each other) keep theirs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def stages(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        legacy = self.folder.parent / "stats.json"  # one shared file, as the first runs wrote it
        if legacy.exists():
            found.update(json.loads(legacy.read_text()))
        for path in sorted(self.folder.glob("*.json")):
            found[path.stem] = json.loads(path.read_text())
        return {stage: found[stage] for stage in STAGES if stage in found}

    def record(self, stage: str, losses: list[float], seconds: float) -> None:
        tail = max(1, len(losses) // 10)
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {
            "steps": len(losses),
            "seconds": round(seconds, 1),
            "first_loss": round(losses[0], 5) if losses else None,
            "final_loss": round(float(np.mean(losses[-tail:])), 5) if losses else None,
        }
        (self.folder / f"{stage}.json").write_text(json.dumps(entry, indent=2))


def _loop(
    name: str,
    steps: int,
    params: list[torch.nn.Parameter],
    lr: float,
    loss_fn: Callable[[int], torch.Tensor],
    ema: EMAModel | None,
) -> list[float]:
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-2)
    schedule = get_cosine_schedule_with_warmup(optimizer, min(100, steps // 10), steps)
    losses: list[float] = []
    started = time.perf_counter()
    for step in range(steps):
        loss = loss_fn(step)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.step(params)
        losses.append(float(loss.detach()))
        if (step + 1) % 50 == 0 or step + 1 == steps:
            recent = float(np.mean(losses[-50:]))
            log.info(
                "%s step=%d/%d loss=%.4f elapsed=%.0fs", name, step + 1, steps, recent, time.perf_counter() - started
            )
    if ema is not None:
        ema.copy_to(params)
    return losses


def _ema(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> EMAModel:
    return EMAModel(list(params), decay=cfg.ema_max_decay, use_ema_warmup=True, inv_gamma=1.0, power=2 / 3)


def _diffusion_loss(
    unet: UNet2DConditionModel,
    latents: torch.Tensor,
    text: torch.Tensor,
    scheduler: DDPMScheduler,
    snr_gamma: float | None,
    *,
    extra: torch.Tensor | None = None,
    added: dict[str, Any] | None = None,
    noise_offset: float = 0.0,
    pixel_weight: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
) -> torch.Tensor:
    """Epsilon-prediction MSE with min-SNR-gamma weighting (diffusers' training_utils.compute_snr; `snr_gamma`
    None weighs every step alike), offset noise when `noise_offset` > 0, and per-latent-pixel weights
    (N, 1, h, w) when given."""
    noise = torch.randn_like(latents)
    if noise_offset:
        noise = noise + noise_offset * torch.randn(latents.shape[0], latents.shape[1], 1, 1)
    if t is None:
        t = _timesteps(scheduler, latents.shape[0])
    noisy = scheduler.add_noise(latents, noise, t)
    model_input = noisy if extra is None else torch.cat([noisy, extra], dim=1)
    pred = unet(model_input, t, text, added_cond_kwargs=added).sample
    err = (pred - noise) ** 2
    if pixel_weight is not None:
        err = err * (pixel_weight / pixel_weight.mean(dim=(2, 3), keepdim=True))
    per_row = err.mean(dim=(1, 2, 3))
    weight = torch.ones_like(per_row)
    if snr_gamma is not None:
        snr = compute_snr(scheduler, t)
        weight = torch.clamp(snr, max=snr_gamma) / snr
    loss: torch.Tensor = (per_row * weight).mean()
    return loss


def _encode_text(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, captions: list[str]) -> torch.Tensor:
    ids = tokenizer(captions, padding="max_length", max_length=MAX_LENGTH, truncation=True, return_tensors="pt")
    hidden: torch.Tensor = text_encoder(ids.input_ids)[0]
    return hidden


@torch.no_grad()
def _latent_stats(vae: AutoencoderKL, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    means, stds = [], []
    for chunk in torch.split(images, 256):
        dist = vae.encode(chunk).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    return torch.cat(means), torch.cat(stds)


def _timesteps(scheduler: DDPMScheduler, n: int) -> torch.Tensor:
    return torch.randint(0, scheduler.config.num_train_timesteps, (n,))


def _captions(world: list[Scene], idx: np.ndarray, swap_chance: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Captions of the scenes `idx`, each replaced by another scene's caption with its row's chance."""
    swap = rng.random(len(idx)) < swap_chance
    described = np.where(swap, rng.integers(0, len(world), len(idx)), idx)
    return [data.random_caption(world[i], rng) for i in described]


def _foreground_weight(images: torch.Tensor, weight: float) -> torch.Tensor:
    """(N, 1, h, w) latent-pixel loss weights: `weight` where a latent pixel covers any foreground, else 1."""
    covered = torch.nn.functional.max_pool2d(data.foreground(images), images.shape[-1] // models.LATENT_SIDE)
    return 1.0 + (weight - 1.0) * covered


def _sample(mean: torch.Tensor, std: torch.Tensor, idx: np.ndarray, scale: float) -> torch.Tensor:
    i = torch.from_numpy(idx)
    return (mean[i] + std[i] * torch.randn_like(mean[i])) * scale


class Trainer:
    def __init__(self, cfg: TrainConfig, work: Path) -> None:
        self.cfg = cfg
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.stats = Stats(work / "stats")
        self.tokenizer = build_tokenizer()
        torch.set_num_threads(cfg.threads)

    def _seed(self, offset: int) -> np.random.Generator:
        torch.manual_seed(self.cfg.seed + offset)
        return np.random.default_rng(self.cfg.seed + offset)

    def _vae(self) -> AutoencoderKL:
        return AutoencoderKL.from_pretrained(self.work / "vae").eval().requires_grad_(False)

    def _text_encoder(self) -> CLIPTextModel:
        return CLIPTextModel.from_pretrained(self.work / "text_encoder").eval().requires_grad_(False)

    def _unet(self) -> UNet2DConditionModel:
        return UNet2DConditionModel.from_pretrained(self.work / "unet").eval().requires_grad_(False)

    def _final_vae(self) -> AutoencoderKL:
        """The VAE that ships: the trained encoder with the fine-tuned decoder."""
        return AutoencoderKL.from_pretrained(self.work / "vae-decoder").eval().requires_grad_(False)

    # -- stages --

    def vae(self) -> None:
        cfg = self.cfg
        rng = self._seed(1)
        images = data.vae_images(cfg.seed + 1, cfg.vae_images)
        model = models.vae(cfg.seed + 2).train()
        c = cfg.vae_crop

        def loss(step: int) -> torch.Tensor:
            idx = torch.from_numpy(rng.integers(0, len(images), cfg.vae_batch))
            x0, y0 = (int(v) for v in rng.integers(0, images.shape[-1] - c + 1, 2))
            batch = images[idx, :, y0 : y0 + c, x0 : x0 + c]
            dist = model.encode(batch).latent_dist
            out = model.decode(dist.sample()).sample
            loss: torch.Tensor = (
                ((out - batch) ** 2).mean() + 0.5 * (out - batch).abs().mean() + 1e-6 * dist.kl().mean()
            )
            return loss

        started = time.perf_counter()
        losses = _loop("vae", cfg.vae_steps, list(model.parameters()), cfg.vae_lr, loss, None)
        model.eval()
        mean, _ = _latent_stats(model, images[:1024])
        model.register_to_config(scaling_factor=round(1.0 / float(mean.std()), 5))
        model.save_pretrained(self.work / "vae")
        self.stats.record("vae", losses, time.perf_counter() - started)

    def decoder(self) -> None:
        """Fine-tune the decoder alone on whole images, foreground pixels weighted up: sharper, truer colours,
        and the latent space the other stages learn on stays as it is (the encoder is frozen)."""
        cfg = self.cfg
        rng = self._seed(5)
        vae = self._vae()
        images = data.vae_images(cfg.seed + 6, cfg.decoder_images)
        weights = 1.0 + (cfg.decoder_foreground_weight - 1.0) * data.foreground(images)
        mean, std = _latent_stats(vae, images)
        params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
        for p in params:
            p.requires_grad_(True)

        def loss(step: int) -> torch.Tensor:
            idx = rng.integers(0, len(images), cfg.decoder_batch)
            i = torch.from_numpy(idx)
            out = vae.decode(_sample(mean, std, idx, 1.0)).sample
            err = (out - images[i]) ** 2 + 0.5 * (out - images[i]).abs()
            weighted: torch.Tensor = (err * weights[i]).sum() / (weights[i].sum() * 3)
            return weighted

        started = time.perf_counter()
        losses = _loop("decoder", cfg.decoder_steps, params, cfg.decoder_lr, loss, None)
        vae.save_pretrained(self.work / "vae-decoder")
        self.stats.record("decoder", losses, time.perf_counter() - started)

    def _text_to_image(
        self,
        stage: str,
        offset: int,
        build: Callable[[], tuple[UNet2DConditionModel, CLIPTextModel]],
        steps: int,
        lr: float,
        noise_offset: float,
        snr_gamma: float | None,
        swap_chance: Callable[[np.ndarray], np.ndarray] | None = None,
        foreground_weight: float | None = None,
    ) -> None:
        """Train a UNet and text encoder on captioned scenes (seeds from `offset`); `build` makes or loads them
        once the data is ready. Saves them as the work folder's `unet-<stage>` and `text_encoder-<stage>`, the
        polished ones as `unet` and `text_encoder`."""
        cfg = self.cfg
        rng = self._seed(offset)
        vae = self._vae()
        world = data.scenes(cfg.seed + offset + 1, cfg.scenes)
        images = data.to_tensor([data.render(s) for s in world])
        mean, std = _latent_stats(vae, images)
        weights = None if foreground_weight is None else _foreground_weight(images, foreground_weight)
        scale = float(vae.config.scaling_factor)
        tok = self.tokenizer
        unet, text_encoder = build()
        text_encoder.train()
        unet.train()
        scheduler = models.train_scheduler()
        params = list(unet.parameters()) + list(text_encoder.parameters())
        for p in params:
            p.requires_grad_(True)

        def loss(step: int) -> torch.Tensor:
            idx = rng.integers(0, len(world), cfg.base_batch)
            if swap_chance is None:  # base and refine draw exactly what they drew for the shipped weights
                captions, t = [data.random_caption(world[i], rng) for i in idx], None
            else:
                t = _timesteps(scheduler, len(idx))
                captions = _captions(world, idx, swap_chance(t.numpy()), rng)
            text = _encode_text(tok, text_encoder, captions)
            latents = _sample(mean, std, idx, scale)
            weight = None if weights is None else weights[torch.from_numpy(idx)]
            return _diffusion_loss(
                unet, latents, text, scheduler, snr_gamma, noise_offset=noise_offset, t=t, pixel_weight=weight
            )

        started = time.perf_counter()
        losses = _loop(stage, steps, params, lr, loss, _ema(params, cfg))
        suffix = "" if stage == "polish" else f"-{stage}"  # the last one is the UNet the variants start from
        unet.save_pretrained(self.work / f"unet{suffix}")
        text_encoder.save_pretrained(self.work / f"text_encoder{suffix}")
        self.stats.record(stage, losses, time.perf_counter() - started)

    def base(self) -> None:
        """UNet and text encoder from scratch, plain noise."""
        cfg, tok = self.cfg, self.tokenizer

        def build() -> tuple[UNet2DConditionModel, CLIPTextModel]:
            text_encoder = models.text_encoder(
                cfg.seed + 12, len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id
            )
            return models.unet(cfg.seed + 13), text_encoder

        self._text_to_image("base", 10, build, cfg.base_steps, cfg.base_lr, 0.0, cfg.snr_gamma)

    def refine(self) -> None:
        """Continue the base UNet and text encoder with offset noise, at a lower rate, with a fresh EMA: the
        background's colour (the image's mean) then follows the prompt."""
        cfg = self.cfg

        def build() -> tuple[UNet2DConditionModel, CLIPTextModel]:
            unet = UNet2DConditionModel.from_pretrained(self.work / "unet-base")
            return unet, CLIPTextModel.from_pretrained(self.work / "text_encoder-base")

        self._text_to_image("refine", 15, build, cfg.refine_steps, cfg.refine_lr, cfg.noise_offset, cfg.snr_gamma)

    def polish(self) -> None:
        """Continue the refined UNet and text encoder so that at low noise the image, not the caption, decides.
        Trained on matching captions only, the model leaned on the caption even where the noisy image shows
        everything, and guidance, which multiplies the difference between the conditional and unconditional
        predictions, repainted an img2img input at any strength (0.05 included). Here, below timestep
        `caption_swap_none`, captions describe other scenes (all of them below `caption_swap_full`), every step
        counts alike (min-SNR weighting makes low-noise steps count for little) and shapes' pixels count more."""
        cfg = self.cfg

        def build() -> tuple[UNet2DConditionModel, CLIPTextModel]:
            unet = UNet2DConditionModel.from_pretrained(self.work / "unet-refine")
            return unet, CLIPTextModel.from_pretrained(self.work / "text_encoder-refine")

        self._text_to_image(
            "polish",
            17,
            build,
            cfg.polish_steps,
            cfg.polish_lr,
            cfg.noise_offset,
            None,
            cfg.caption_swap_chance,
            cfg.foreground_weight,
        )

    def inpaint(self) -> None:
        cfg = self.cfg
        rng = self._seed(20)
        vae, text_encoder, base = self._vae(), self._text_encoder(), self._unet()
        world = data.scenes(cfg.seed + 21, cfg.inpaint_scenes)
        images = data.to_tensor([data.render(s) for s in world])
        masks = torch.from_numpy(np.stack([data.inpaint_mask(s, rng) for s in world]))[:, None]
        mean, std = _latent_stats(vae, images)
        masked_mean, masked_std = _latent_stats(vae, images * (masks < 0.5))
        latent_masks = torch.nn.functional.interpolate(masks, size=mean.shape[-2:])  # as the pipeline does
        scale = float(vae.config.scaling_factor)
        unet = models.unet(cfg.seed + 22, in_channels=9)
        state = base.state_dict()
        conv_in = torch.zeros_like(unet.conv_in.weight)
        conv_in[:, :4] = state.pop("conv_in.weight")
        state["conv_in.weight"] = conv_in
        unet.load_state_dict(state)
        unet.train()
        scheduler = models.train_scheduler()
        params = list(unet.parameters())

        def loss(step: int) -> torch.Tensor:
            idx = rng.integers(0, len(world), cfg.inpaint_batch)
            t = _timesteps(scheduler, len(idx))
            with torch.no_grad():
                captions = _captions(world, idx, cfg.caption_swap_chance(t.numpy()), rng)
                text = _encode_text(self.tokenizer, text_encoder, captions)
            i = torch.from_numpy(idx)
            extra = torch.cat([latent_masks[i], _sample(masked_mean, masked_std, idx, scale)], dim=1)
            latents = _sample(mean, std, idx, scale)
            return _diffusion_loss(
                unet,
                latents,
                text,
                scheduler,
                cfg.snr_gamma,
                extra=extra,
                noise_offset=cfg.noise_offset,
                t=t,
            )

        started = time.perf_counter()
        losses = _loop("inpaint", cfg.inpaint_steps, params, cfg.inpaint_lr, loss, _ema(params, cfg))
        unet.save_pretrained(self.work / "unet-inpaint")
        self.stats.record("inpaint", losses, time.perf_counter() - started)

    def clip(self) -> None:
        """The CLIP vision encoder: its image embedding of a scene is pulled towards the text encoder's embedding
        of the scene's caption (colours and shapes; the mean of the token states, through a linear head trained
        alongside and then dropped) and away from the other captions in the batch; scenes with the same caption
        are all positives."""
        cfg = self.cfg
        rng = self._seed(25)
        text_encoder = self._text_encoder()
        world = data.scenes(cfg.seed + 26, cfg.clip_scenes)
        captions = [caption(s, CLIP_CAPTION) for s in world]
        pixels = models.feature_extractor()(images=[data.render(s) for s in world], return_tensors="pt").pixel_values
        ids = self.tokenizer(
            captions, padding="max_length", max_length=MAX_LENGTH, truncation=True, return_tensors="pt"
        )
        with torch.no_grad():
            states = torch.cat([text_encoder(chunk)[0] for chunk in torch.split(ids.input_ids, 512)])
        real = ids.attention_mask[..., None].float()
        text_states = (states * real).sum(1) / real.sum(1)
        caption_ids = torch.from_numpy(np.unique(np.array(captions), return_inverse=True)[1])
        encoder = CLIPVisionModelWithProjection(models.vision_config()).train()
        head = torch.nn.Linear(models.TEXT_WIDTH, models.VISION_WIDTH)
        params = list(encoder.parameters()) + list(head.parameters())

        def loss(step: int) -> torch.Tensor:
            i = torch.from_numpy(rng.integers(0, len(world), cfg.clip_batch))
            image = torch.nn.functional.normalize(encoder(pixel_values=pixels[i]).image_embeds, dim=-1)
            text = torch.nn.functional.normalize(head(text_states[i]), dim=-1)
            logits = image @ text.T / cfg.clip_temperature
            same = (caption_ids[i][:, None] == caption_ids[i][None, :]).float()
            targets = same / same.sum(1, keepdim=True)
            ce = torch.nn.functional.cross_entropy
            both: torch.Tensor = (ce(logits, targets) + ce(logits.T, targets)) / 2
            return both

        started = time.perf_counter()
        losses = _loop("clip", cfg.clip_steps, params, cfg.clip_lr, loss, None)
        encoder.save_pretrained(self.work / "image_encoder")
        self.stats.record("clip", losses, time.perf_counter() - started)

    def ip(self) -> None:
        cfg = self.cfg
        rng = self._seed(30)
        vae, text_encoder, unet = self._vae(), self._text_encoder(), self._unet()
        scale = float(vae.config.scaling_factor)
        processor = models.feature_extractor()
        tasks = {}
        for task, make in (("style", data.style_pair), ("character", data.character_pair)):
            pairs = [make(rng) for _ in range(cfg.ip_pairs)]
            targets = data.to_tensor([data.render(t) for t, _, _ in pairs])
            mean, std = _latent_stats(vae, targets)
            refs = processor(images=[data.render(r) for _, r, _ in pairs], return_tensors="pt").pixel_values
            tasks[task] = (pairs, mean, std, refs, _foreground_weight(targets, cfg.foreground_weight))
        encoder = CLIPVisionModelWithProjection.from_pretrained(self.work / "image_encoder").eval()
        encoder.requires_grad_(False)
        cross = unet.config.cross_attention_dim
        basic = ImageProjection(cross_attention_dim=cross, image_embed_dim=models.VISION_WIDTH, num_image_text_embeds=4)
        plus = IPAdapterPlusImageProjection(
            embed_dims=models.VISION_WIDTH,
            output_dims=cross,
            hidden_dims=64,
            depth=4,
            dim_head=64,
            heads=1,
            num_queries=16,
        )
        attention = export.attention_init_h94(unet)
        unet._load_ip_adapter_weights(
            [
                {"image_proj": export.basic_projection_h94(basic), "ip_adapter": attention},
                {"image_proj": export.plus_projection_h94(plus), "ip_adapter": attention},
            ],
            low_cpu_mem_usage=False,
        )
        processors = [p for p in unet.attn_processors.values() if isinstance(p, IPAdapterAttnProcessor2_0)]
        adapter_params = list(unet.encoder_hid_proj.parameters())
        for p in processors:
            adapter_params += list(p.parameters())
        for p in adapter_params:
            p.requires_grad_(True)
        params = adapter_params
        scheduler = models.train_scheduler()
        half = cfg.ip_batch

        def task_loss(task: str) -> torch.Tensor:
            pairs, mean, std, refs, weights = tasks[task]
            idx = rng.integers(0, len(pairs), half)
            drop = rng.random(half) < cfg.image_drop
            captions = [
                data.random_caption(pairs[i][0] if d else pairs[i][2], rng) for i, d in zip(idx, drop, strict=True)
            ]
            with torch.no_grad():
                text = _encode_text(self.tokenizer, text_encoder, captions)
            pixels = refs[torch.from_numpy(idx)]
            keep = torch.from_numpy(~drop).float()
            if task == "character":
                pixels = pixels * keep[:, None, None, None]  # the negative is the encoding of a zero image
            with torch.no_grad():
                out = encoder(pixel_values=pixels, output_hidden_states=True)
            style = out.image_embeds * keep[:, None] if task == "style" else torch.zeros(half, models.VISION_WIDTH)
            character = out.hidden_states[-2] if task == "character" else torch.zeros_like(out.hidden_states[-2])
            for p in processors:
                p.scale = [1.0, 0.0] if task == "style" else [0.0, 1.0]
            added = {"image_embeds": [style[:, None], character[:, None]]}
            latents = _sample(mean, std, idx, scale)
            return _diffusion_loss(
                unet,
                latents,
                text,
                scheduler,
                cfg.snr_gamma,
                added=added,
                noise_offset=cfg.noise_offset,
                pixel_weight=weights[torch.from_numpy(idx)],
            )

        def loss(step: int) -> torch.Tensor:
            return (task_loss("style") + task_loss("character")) / 2

        started = time.perf_counter()
        losses = _loop("ip", cfg.ip_steps, params, cfg.ip_lr, loss, _ema(params, cfg))
        layers = unet.encoder_hid_proj.image_projection_layers
        out_dir = self.work / "ip"
        out_dir.mkdir(exist_ok=True)
        torch.save(
            {
                "style": {
                    "image_proj": export.basic_projection_h94(layers[0]),
                    "ip_adapter": export.ip_attention_h94(unet, 0),
                },
                "character": {
                    "image_proj": export.plus_projection_h94(layers[1]),
                    "ip_adapter": export.ip_attention_h94(unet, 1),
                },
            },
            out_dir / "adapters.pt",
        )
        self.stats.record("ip", losses, time.perf_counter() - started)

    def lora(self) -> None:
        cfg = self.cfg
        rng = self._seed(40)
        vae, text_encoder, unet = self._vae(), self._text_encoder(), self._unet()
        world = data.scenes(cfg.seed + 41, cfg.lora_scenes)
        mean, std = _latent_stats(vae, data.to_tensor([data.render(s, outline=True) for s in world]))
        # The LoRA's work is inside the shapes (fill becomes background): weigh the filled shapes' pixels up.
        weights = _foreground_weight(data.to_tensor([data.render(s) for s in world]), cfg.foreground_weight)
        scale = float(vae.config.scaling_factor)
        config = LoraConfig(
            r=cfg.lora_rank, lora_alpha=cfg.lora_rank, init_lora_weights="gaussian", target_modules=list(LORA_TARGETS)
        )
        unet.add_adapter(config)
        params = [p for n, p in unet.named_parameters() if "lora_" in n]
        for p in params:
            p.requires_grad_(True)
        scheduler = models.train_scheduler()

        def loss(step: int) -> torch.Tensor:
            idx = rng.integers(0, len(world), cfg.lora_batch)
            with torch.no_grad():
                text = _encode_text(self.tokenizer, text_encoder, [data.random_caption(world[i], rng) for i in idx])
            latents = _sample(mean, std, idx, scale)
            return _diffusion_loss(
                unet,
                latents,
                text,
                scheduler,
                None,
                noise_offset=cfg.noise_offset,
                pixel_weight=weights[torch.from_numpy(idx)],
            )

        started = time.perf_counter()
        losses = _loop("lora", cfg.lora_steps, params, cfg.lora_lr, loss, _ema(params, cfg))
        # peft's key names (`lora_A`/`lora_B`), which diffusers reads for every layer type; its older
        # `lora.down`/`lora.up` conversion covers attention layers only and would mix the two schemes.
        layers = get_peft_model_state_dict(unet)
        layers = {k: v.detach().to(export.STORE_DTYPE).contiguous() for k, v in layers.items()}
        StableDiffusionPipeline.save_lora_weights(
            self.work / "lora",
            unet_lora_layers=layers,
            weight_name="pytorch_lora_weights.safetensors",
            safe_serialization=True,
        )
        self.stats.record("lora", losses, time.perf_counter() - started)

    def export(self, out: Path) -> None:
        """Write the shipping layout under `out` and its record, training.json."""
        from diffuserve.demo_shapes.catalog import (
            FOLDER,
            INPAINT_FOLDER,
            IP_CHARACTER,
            IP_ENCODER,
            IP_STYLE,
            LORA_FILE,
            SINGLE_FILE,
        )

        out.mkdir(parents=True, exist_ok=True)
        vae, text_encoder, unet = self._final_vae(), self._text_encoder(), self._unet()
        inpaint = UNet2DConditionModel.from_pretrained(self.work / "unet-inpaint")
        parts = {"vae": vae, "text_encoder": text_encoder, "tokenizer": self.tokenizer}
        export.save_pipeline(out / FOLDER, unet=unet, **parts)  # type: ignore[arg-type]
        export.save_pipeline(out / INPAINT_FOLDER, unet=inpaint, inpaint=True, **parts)  # type: ignore[arg-type]
        export.save_single_file(out / SINGLE_FILE, unet=unet, vae=vae, text_encoder=text_encoder)
        encoder = CLIPVisionModelWithProjection.from_pretrained(self.work / "image_encoder")
        encoder.to(export.STORE_DTYPE).save_pretrained(out / IP_ENCODER, safe_serialization=True)
        adapters = torch.load(self.work / "ip" / "adapters.pt", weights_only=True)
        for name, path in (("style", IP_STYLE), ("character", IP_CHARACTER)):
            export.save_ip_adapter(out / path, adapters[name]["image_proj"], adapters[name]["ip_adapter"])
        (out / LORA_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out / LORA_FILE).write_bytes((self.work / "lora" / "pytorch_lora_weights.safetensors").read_bytes())
        record = {
            "config": asdict(self.cfg),
            "stages": self.stats.stages,
            "versions": _versions(),
            "files": file_hashes(out),
        }
        (out / RECORD).write_text(json.dumps(record, indent=2) + "\n")


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every weights file under `root` (configs and tokenizer files included), by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != RECORD
    }


def _versions() -> dict[str, str]:
    import diffusers
    import peft
    import transformers

    return {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }


def train(cfg: TrainConfig, work: Path, out: Path, stages: Iterable[str] = STAGES) -> Path:
    """Run `stages` in order (`export` writes to `out`); returns the record's path."""
    trainer = Trainer(cfg, work)
    for stage in stages:
        log.info("stage %s started", stage)
        if stage == "export":
            trainer.export(out)
        else:
            getattr(trainer, stage)()
    return out / RECORD


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diffuserve.demo_shapes.train", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="where the shipped weights go (default: the package)")
    parser.add_argument("--work", type=Path, default=Path("build/demo-shapes"), help="per-stage weights")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset of " + ",".join(STAGES))
    parser.add_argument("--quick", action="store_true", help="two steps per stage: check that training runs")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument(
        "--jobs", type=int, default=1, help="stages side by side, each in its own process (2 on a 2-core machine)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = TrainConfig(seed=args.seed, threads=args.threads)
    if args.quick:
        cfg = cfg.quick()
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}; choose from {', '.join(STAGES)}")
    if args.jobs > 1:
        common = ["--out", str(args.out), "--work", str(args.work), "--seed", str(args.seed)]
        common += ["--threads", str(args.threads), *(["--quick"] if args.quick else [])]
        side_by_side(stages, args.jobs, common)
        record = args.out / RECORD
    else:
        record = train(cfg, args.work, args.out, stages)
    log.info("done record=%s", record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
