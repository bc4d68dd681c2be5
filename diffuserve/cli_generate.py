"""`diffuserve generate`: one request through the engine in this process, with progress on stderr and the written
files' paths on stdout. Files are never overwritten unless asked: a taken name gets the next free `-N` suffix."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from diffuserve.catalog.scheduler_aliases import listed_aliases, resolve_scheduler
from diffuserve.catalog.types import Concept, IpAdapterType, Mode
from diffuserve.cli_common import CliError, open_image, registry_of, settings_of

if TYPE_CHECKING:
    from PIL import Image, PngImagePlugin

    from diffuserve.catalog.registry import Registry
    from diffuserve.catalog.types import GenerationRequest, ResolvedRequest
    from diffuserve.cli_common import Subcommands
    from diffuserve.errors import InvalidRequest

# The request fields the catalog's messages name, and the option that sets each.
FIELD_OPTIONS = {
    "modelId": "--model",
    "baseModelId": "--base-model",
    "modelEpoch": "--model-epoch",
    "prompt": "--prompt",
    "negativePrompt": "--negative-prompt",
    "numSamples": "--num-samples",
    "numInferenceSteps": "--steps",
    "guidance": "--guidance",
    "width": "--width",
    "height": "--height",
    "seed": "--seed",
    "scheduler": "--scheduler",
    "strength": "--strength",
    "image": "--image",
    "imageId": "--image",
    "mask": "--mask",
    "maskId": "--mask",
    "disableMerging": "--disable-merging",
    "ipAdapterImages": "--ip-image",
    "ipAdapterImageIds": "--ip-image",
    "ipAdapterScales": "--ip-scale",
    "ipAdapterType": "--ip-type",
    "concepts": "--concept",
    "compliantModelIds": "its --compliant bases",
    "negativePromptStrength": "--negative-prompt-strength",
}
_INDEXED = re.compile(r"\b(ipAdapterScales|concepts)\[(\d+)\](?:\.(scale|modelId|modelEpoch))?")
_ALTERNATIVES = re.compile(r"\((\w+) or (\w+)\)")
_CAMEL = re.compile(r"\b[a-z]+(?:[A-Z][a-z]*)+\b")
_PHRASES = {"numInferenceSteps x strength": "--steps x --strength"}


def option_message(exc: InvalidRequest, *, ip_scales: list[float], concepts: list[str]) -> str:
    """A catalog validation message in the CLI's words: `--steps` where the API says `numInferenceSteps`.

    `concepts` are the concept texts as the request holds them (a LoRA --model first), to name the one at fault."""

    def indexed(match: re.Match[str]) -> str:
        name, i, part = match.group(1), int(match.group(2)), match.group(3)
        if name == "ipAdapterScales":
            value = f" {ip_scales[i]:g}" if i < len(ip_scales) else ""
            return f"--ip-scale #{i + 1}{value}"
        label = concepts[i] if i < len(concepts) else f"#{i + 1}"
        return f"--concept {label}" + {"scale": " scale", "modelId": " model", "modelEpoch": " epoch"}.get(part, "")

    def alternatives(match: re.Match[str]) -> str:
        options = [FIELD_OPTIONS.get(name, name) for name in match.groups()]
        return f"({' or '.join(dict.fromkeys(options))})"

    text = exc.message
    for phrase, words in _PHRASES.items():
        text = text.replace(phrase, words)
    text = _INDEXED.sub(indexed, text)
    text = _ALTERNATIVES.sub(alternatives, text)
    text = _CAMEL.sub(lambda m: FIELD_OPTIONS.get(m.group(0), m.group(0)), text)
    first, _, rest = text.partition(" ")
    if first in FIELD_OPTIONS:  # the message's subject: `width must be ...`
        text = f"{FIELD_OPTIONS[first]} {rest}"
    option = FIELD_OPTIONS.get((exc.field or "").split("[")[0].split(".")[0])
    if option and option not in text:
        text = f"{option}: {text}"
    return text


def parse_concept(text: str) -> Concept:
    """`ID` (scale 1), `ID:SCALE`, and either with `@EPOCH` for a LoRA trained in epochs."""
    head, _, epoch = text.partition("@")
    model_id, sep, scale = head.rpartition(":")
    if not sep:
        return Concept(head, 1.0, epoch or None)
    if not model_id:
        raise CliError(
            f"--concept {text!r}: expected MODEL_ID or MODEL_ID:SCALE (either with @EPOCH for a LoRA's epoch), e.g. "
            "tiny-sd15-lora:0.8 or tiny-flux-lora@000002"
        )
    try:
        return Concept(model_id, float(scale), epoch or None)
    except ValueError as exc:
        raise CliError(f"--concept {text!r}: scale {scale!r} is not a number") from exc


def parse_seed(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise CliError(f"--seed {text!r}: expected a whole number") from exc


def parse_scheduler(text: str | None) -> tuple[str | None, str | None]:
    """(API class name, note) for --scheduler."""
    if text is None:
        return None, None
    choice = resolve_scheduler(text)
    if choice is None:
        raise CliError(
            f"--scheduler {text!r}: unknown; use one of {', '.join(listed_aliases())} or a diffusers class name "
            "(see `diffuserve generate --help`)"
        )
    return choice.name, choice.note


def _request(args: argparse.Namespace, scheduler: str | None) -> GenerationRequest:
    from diffuserve.catalog.types import GenerationRequest

    return GenerationRequest(
        mode=Mode(args.mode),
        model_id=args.model,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        num_samples=args.num_samples,
        num_inference_steps=args.steps,
        guidance=args.guidance,
        width=args.width,
        height=args.height,
        seed=parse_seed(args.seed),
        scheduler=scheduler,
        strength=args.strength,
        image=open_image(args.image, "--image") if args.image else None,
        mask=open_image(args.mask, "--mask") if args.mask else None,
        disable_merging=args.disable_merging,
        ip_adapter_images=tuple(open_image(p, "--ip-image") for p in args.ip_image),
        ip_adapter_scales=tuple(args.ip_scale),
        ip_adapter_type=IpAdapterType(args.ip_type),
        concepts=tuple(parse_concept(c) for c in args.concept),
        intermediate_images=args.preview is not None,
        negative_prompt_strength=args.negative_prompt_strength,
        model_epoch=args.model_epoch,
        base_model_id=args.base_model,
    )


def _validate(registry: Registry, request: GenerationRequest, args: argparse.Namespace) -> ResolvedRequest:
    """The catalog's checks, before torch loads; failures worded with the CLI's options."""
    from diffuserve.catalog import validation
    from diffuserve.errors import InvalidRequest, NotFound

    try:
        return validation.validate(registry, request)
    except InvalidRequest as exc:
        concepts = list(args.concept)
        try:
            if registry.get(args.model).type.is_lora:
                concepts.insert(0, args.model)
        except NotFound:
            pass
        raise CliError(option_message(exc, ip_scales=list(args.ip_scale), concepts=concepts)) from exc
    except NotFound as exc:
        raise CliError(f"{exc.message} (`diffuserve models list` shows the registered ids)") from exc


def write_png(image: Image.Image, info: PngImagePlugin.PngInfo, folder: Path, stem: str, *, overwrite: bool) -> Path:
    """`<stem>.png`, or with --overwrite not given and that name taken, the first free `<stem>-N.png` (N >= 2).
    Exclusive creation, so two runs writing into one folder at once never overwrite each other either."""
    if overwrite:
        path = folder / f"{stem}.png"
        image.save(path, format="PNG", pnginfo=info)
        return path
    n = 1
    while True:
        path = folder / (f"{stem}.png" if n == 1 else f"{stem}-{n}.png")
        try:
            with path.open("xb") as handle:
                image.save(handle, format="PNG", pnginfo=info)
            return path
        except FileExistsError:
            n += 1


def cmd_generate(args: argparse.Namespace) -> int:
    from diffuserve.catalog.demo import is_built
    from diffuserve.catalog.infotext import png_info
    from diffuserve.cli_progress import GenerateProgress, pick_style
    from diffuserve.engine.quiet import quiet_libraries

    settings = settings_of(args)
    scheduler, note = parse_scheduler(args.scheduler)
    style = "none" if args.quiet else pick_style(args.progress, sys.stderr)
    progress = GenerateProgress(sys.stderr, style, preview=Path(args.preview) if args.preview else None)
    if settings.demo_models and not is_built(settings.resolved_demo_models_dir.resolve()):
        progress.stage(f"building the demo models in {settings.resolved_demo_models_dir} (first run only)")
    registry = registry_of(settings)
    request = _request(args, scheduler)
    resolved = _validate(registry, request, args)
    request = replace(request, seed=resolved.seed)  # a random seed is drawn once, and shown
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out {args.out}: cannot create the folder ({exc.strerror})") from exc
    preview = progress.preview
    progress.batches = -(-request.num_samples // settings.max_batch_images)
    if note:
        progress.stage(f"note: {note}")
    seed_note = "" if args.seed is not None else " (random)"
    progress.stage(
        f"{request.mode.value} on {resolved.request.model_id}: {request.num_samples} image(s) "
        f"{resolved.width}x{resolved.height}, {resolved.num_inference_steps} steps, {resolved.scheduler}, "
        f"seed {resolved.seed}{seed_note}" + (f"; previews in {preview}" if preview else "")
    )
    progress.stage("starting the engine (importing torch and diffusers)")
    quiet_libraries()  # before the pipelines are imported: their import-time notices are not ours to print
    from diffuserve.engine.engine import Engine

    engine = Engine(registry, settings)
    progress.stage(f"engine ready on {engine.device} ({str(engine.dtype).removeprefix('torch.')})")
    try:
        result = engine.generate(request, progress.callbacks(model_id=resolved.request.model_id))
    finally:
        progress.end_line()  # an error or Ctrl+C starts on a line of its own, not after a half-drawn bar
    for item in result.images:
        path = write_png(
            item.image,
            png_info(result.resolved, item.seed),
            out,
            f"{request.mode.value}-{item.seed}",
            overwrite=args.overwrite,
        )
        print(path, flush=True)
    progress.done(len(result.images))
    return 0


def add_generate_command(sub: Subcommands) -> None:
    modes = [m.value for m in Mode]
    p = sub.add_parser(
        "generate",
        help="generate images into a folder, in this process (no server needed)",
        description="Runs one generation on this machine's GPU (or CPU) and writes one PNG per image, named "
        "<mode>-<seed>.png (<mode>-<seed>-2.png, ... when that name is taken; --overwrite replaces instead), "
        "with the parameters in the PNG text (A1111's `parameters` infotext, and JSON under `diffuserve`). "
        "Paths of the written files go to stdout, progress to stderr.",
    )
    p.add_argument(
        "mode",
        choices=modes,
        metavar="MODE",
        help="txt2img (from the prompt), img2img (changes --image), inpaint (repaints --mask of --image), or "
        "txt2img-ip-adapter, img2img-ip-adapter, inpaint-ip-adapter (also follow --ip-image references)",
    )
    p.add_argument("--model", required=True, help="model id, or a LoRA model id (see `diffuserve models list`)")
    p.add_argument("--prompt", required=True, help="what to draw")
    p.add_argument("--negative-prompt", help="what to keep out of the image (default: nothing)")
    p.add_argument("--image", metavar="FILE", help="input image (img2img, inpaint)")
    p.add_argument("--mask", metavar="FILE", help="inpaint mask: white = repaint, black = keep")
    p.add_argument(
        "--ip-image", metavar="FILE", action="append", default=[], help="IP-Adapter reference image (repeatable)"
    )
    p.add_argument(
        "--ip-scale",
        metavar="SCALE",
        action="append",
        type=float,
        default=[],
        help="scale of each --ip-image in [0, 1], in order; one value applies to all (default: 0.9 each)",
    )
    p.add_argument(
        "--ip-type",
        choices=[t.value for t in IpAdapterType],
        default="style",
        help="which of the model's IP-Adapters: style or character (a face)",
    )
    p.add_argument(
        "--strength",
        type=float,
        help="img2img/inpaint: how much of --image to change, 0.01-1 (default: 0.75)",
    )
    p.add_argument("--num-samples", type=int, default=1, help="how many images, seeds SEED, SEED+1, ...")
    p.add_argument("--steps", type=int, help="denoising steps, 1-150 (default: 30)")
    p.add_argument(
        "--guidance", type=float, help="how closely to follow the prompt, 0-20 (default: 7.5 SD 1.5, 6 SDXL)"
    )
    p.add_argument(
        "--width",
        type=int,
        help="multiple of 8 (default: --image's size, else 512 SD 1.5, 1024 SDXL)",
    )
    p.add_argument("--height", type=int, help="multiple of 8 (default: like --width)")
    p.add_argument("--seed", help="first image's seed, for reproducible images (default: random, printed)")
    p.add_argument(
        "--scheduler",
        metavar="NAME",
        help=f"sampler: {', '.join(listed_aliases())} (A1111/ComfyUI names, any case; _karras and other "
        "schedule suffixes run on the model's own schedule), or a diffusers class name such as "
        "EulerDiscreteScheduler (default: the model's own)",
    )
    p.add_argument(
        "--concept",
        metavar="ID[:SCALE][@EPOCH]",
        action="append",
        default=[],
        help="a LoRA, its scale in [-2, 2] and, for a LoRA trained in epochs, which one (repeatable; default "
        "scale: 1, epoch: its last)",
    )
    p.add_argument(
        "--negative-prompt-strength",
        type=float,
        help="FLUX.1: weight of --negative-prompt, 0-10, as true classifier-free guidance (default: 0, none)",
    )
    p.add_argument("--model-epoch", help="when --model is a LoRA trained in epochs: which one (default: its last)")
    p.add_argument("--base-model", help="when --model is a LoRA: which of its compliant bases runs it (default: first)")
    p.add_argument("--disable-merging", action="store_true", help="inpaint: keep the model's pixels outside the mask")
    p.add_argument("--out", metavar="FOLDER", default="out", help="where the PNGs go")
    p.add_argument("--overwrite", action="store_true", help="replace <mode>-<seed>.png instead of adding -2, -3, ...")
    p.add_argument(
        "--progress",
        choices=["auto", "bar", "lines", "none"],
        default="auto",
        help="on stderr: a bar (a terminal), a line per 10 %% (a file or pipe), or nothing; auto picks",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only the written paths (--progress none)")
    p.add_argument(
        "--preview",
        metavar="FILE",
        help="write a low-resolution preview PNG of the images in progress to FILE while denoising (default: none)",
    )
    p.set_defaults(func=cmd_generate)
