"""Command line: generate | models | serve | keys | mcp | db. Errors print one line and exit non-zero."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from diffuserve.catalog.families import FAMILIES
from diffuserve.catalog.registry import ConceptSpec, IpAdapterSet, ModelSource, ModelSpec, ModelType, Registry
from diffuserve.catalog.types import Concept, GenerationRequest, IpAdapterType, Mode
from diffuserve.cli_db import add_db_commands
from diffuserve.cli_serve import add_serve_commands
from diffuserve.cli_worker import add_worker_command
from diffuserve.config import Settings
from diffuserve.engine.quiet import quiet_libraries, quiet_on_import
from diffuserve.errors import DiffuserveError, first_line
from diffuserve.mcp.cli import add_mcp_command

EXIT_USAGE = 2
ALL_SCHEDULERS = tuple(dict.fromkeys(n for rules in FAMILIES.values() for n in rules.schedulers))


class CliError(Exception):
    """A user mistake on the command line; printed as one line."""


def _registry(settings: Settings, *, demo: bool = True) -> Registry:
    registry = Registry(settings.resolved_registry_path)
    if demo and settings.demo_models:
        from diffuserve.engine.demo import register_demo_models

        register_demo_models(registry, settings.resolved_demo_models_dir)
    return registry


def _open_image(path: str, what: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except FileNotFoundError as exc:
        raise CliError(f"{what} {path}: no such file") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise CliError(f"{what} {path}: not a readable image ({exc})") from exc


def _json_option(flag: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{flag}: not valid JSON ({exc})") from exc


def _concept(text: str) -> Concept:
    """MODEL_ID:SCALE, or MODEL_ID:SCALE@EPOCH for a LoRA trained in epochs."""
    head, _, epoch = text.partition("@")
    model_id, sep, scale = head.rpartition(":")
    if not sep or not model_id:
        raise CliError(f"--concept {text!r}: expected MODEL_ID:SCALE[@EPOCH], e.g. tiny-sd15-lora:0.8")
    try:
        return Concept(model_id, float(scale), epoch or None)
    except ValueError as exc:
        raise CliError(f"--concept {text!r}: scale {scale!r} is not a number") from exc


def _seed(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise CliError(f"--seed {text!r}: expected a whole number") from exc


def cmd_generate(args: argparse.Namespace) -> int:
    quiet_libraries()  # before the pipelines are imported: their import-time notices are not ours to print
    from diffuserve.engine.engine import Engine

    settings = Settings.from_cli(args)
    request = GenerationRequest(
        mode=Mode(args.mode),
        model_id=args.model,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        num_samples=args.num_samples,
        num_inference_steps=args.steps,
        guidance=args.guidance,
        width=args.width,
        height=args.height,
        seed=_seed(args.seed),
        scheduler=args.scheduler,
        strength=args.strength,
        image=_open_image(args.image, "--image") if args.image else None,
        mask=_open_image(args.mask, "--mask") if args.mask else None,
        disable_merging=args.disable_merging,
        ip_adapter_images=tuple(_open_image(p, "--ip-image") for p in args.ip_image),
        ip_adapter_scales=tuple(args.ip_scale),
        ip_adapter_type=IpAdapterType(args.ip_type),
        concepts=tuple(_concept(c) for c in args.concept),
        negative_prompt_strength=args.negative_prompt_strength,
        model_epoch=args.model_epoch,
        base_model_id=args.base_model,
    )
    engine = Engine(_registry(settings), settings)
    result = engine.generate(request)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = result.resolved.parameters()
    for item in result.images:
        info = PngImagePlugin.PngInfo()
        info.add_text("seed", str(item.seed))
        info.add_text("parameters", json.dumps({**params, "seed": str(item.seed)}))
        path = out / f"{request.mode.value}-{item.seed}.png"
        item.image.save(path, pnginfo=info)
        print(path)
    return 0


def _source(kind: str | None, path: str | None, config: str | None = None) -> ModelSource | None:
    return ModelSource(kind=kind, path=path, config=config) if kind and path else None  # type: ignore[arg-type]


def cmd_models(args: argparse.Namespace) -> int:
    settings = Settings.from_cli(args)
    registry = _registry(settings)
    if args.action == "list":
        for m in registry.list():
            print(f"{m.id}\t{m.type.value}\t{','.join(m.capabilities)}\t{m.name}")
    elif args.action == "show":
        print(json.dumps(registry.get(args.id).model_dump(mode="json"), indent=2))
    elif args.action == "remove":
        registry.remove(args.id)
        print(f"removed {args.id}")
    else:
        cmd_models_add(args, registry)
    return 0


def cmd_models_add(args: argparse.Namespace, registry: Registry) -> None:
    sources = [(k, v) for k, v in (("folder", args.folder), ("single_file", args.file), ("hub", args.hub)) if v]
    weightless = ModelType(args.type).is_composition or bool(args.epoch)
    if len(sources) > 1 or (not sources and not weightless):
        raise CliError("models add needs exactly one of --folder, --file, --hub (a composition or --epoch: none)")
    source = None
    if sources:
        kind, path = sources[0]
        if kind != "hub":
            path = str(Path(path).expanduser().resolve())
        source = ModelSource(kind=kind, path=path, config=args.config)  # type: ignore[arg-type]
    epochs = {}
    for item in args.epoch:
        name, sep, ref = item.partition("=")
        if not sep or not name or not ref:
            raise CliError(f"--epoch {item!r}: expected NAME=PATH, e.g. 000003=~/loras/style-000003.safetensors")
        epochs[name] = str(Path(ref).expanduser().resolve()) if Path(ref).expanduser().exists() else ref
    inpaint = None
    if args.inpaint_folder or args.inpaint_file:
        inpaint = ModelSource(
            kind="folder" if args.inpaint_folder else "single_file",
            path=str(Path(args.inpaint_folder or args.inpaint_file).resolve()),
            config=args.inpaint_config,
        )
    ip_adapters: dict[IpAdapterType, IpAdapterSet] = {}
    style_blocks = _json_option("--ip-style-blocks", args.ip_style_blocks)
    ip_args: list[tuple[IpAdapterType, str | None, str | None, str, Any]] = [
        (IpAdapterType.STYLE, args.ip_style, args.ip_style_encoder, args.ip_style_mode, style_blocks),
        (IpAdapterType.CHARACTER, args.ip_character, args.ip_character_encoder, "global", None),
    ]
    for kind_name, weights, encoder, mode, blocks in ip_args:
        if bool(weights) != bool(encoder):
            raise CliError(f"--ip-{kind_name.value} and --ip-{kind_name.value}-encoder go together")
        if weights and encoder:
            ip_adapters[kind_name] = IpAdapterSet(
                weights=weights,
                image_encoder=encoder,
                scale_mode="blocks" if blocks is not None else mode,  # type: ignore[arg-type]
                scale_blocks=blocks,
            )
    spec = ModelSpec(
        id=args.id,
        name=args.name or args.id,
        type=ModelType(args.type),
        source=source,
        inpaint_source=inpaint,
        variant=args.variant,
        epochs=epochs,
        concepts=tuple(
            ConceptSpec(model_id=c.model_id, scale=c.scale, model_epoch=c.model_epoch)
            for c in map(_concept, args.concept)
        ),
        default_scheduler=args.scheduler,
        ip_adapters=ip_adapters,
        compliant_model_ids=tuple(args.compliant),
    )
    registry.add(spec, replace=args.replace)
    print(f"added {spec.id} ({spec.type.value}): {', '.join(spec.capabilities)}")


def _add_generate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("generate", help="generate images into a folder, without the server")
    p.add_argument("mode", choices=[m.value for m in Mode])
    p.add_argument("--model", required=True, help="model id (see `diffuserve models list`)")
    p.add_argument("--prompt", required=True)
    p.add_argument("--negative-prompt")
    p.add_argument("--image", help="input image (img2img, inpaint)")
    p.add_argument("--mask", help="mask image, white = replace (inpaint)")
    p.add_argument("--ip-image", action="append", default=[], help="IP-Adapter reference image (repeatable)")
    p.add_argument("--ip-scale", action="append", type=float, default=[], help="scale per reference image")
    p.add_argument("--ip-type", choices=[t.value for t in IpAdapterType], default="style")
    p.add_argument("--strength", type=float)
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--seed")
    p.add_argument("--scheduler", choices=ALL_SCHEDULERS, metavar="NAME")
    p.add_argument("--concept", action="append", default=[], help="LoRA as MODEL_ID:SCALE[@EPOCH] (repeatable)")
    p.add_argument("--negative-prompt-strength", type=float, help="FLUX: weight of the negative prompt (true CFG)")
    p.add_argument("--model-epoch", help="a LoRA model's training epoch (default: its last)")
    p.add_argument("--base-model", help="a LoRA model: which of its compliant bases runs it")
    p.add_argument("--disable-merging", action="store_true")
    p.add_argument("--out", default="out")
    p.set_defaults(func=cmd_generate)


def _add_models(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list, show, add and remove registered models")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("list")
    actions.add_parser("show").add_argument("id")
    actions.add_parser("remove").add_argument("id")
    a = actions.add_parser("add", help="register a model from a folder, a single file or a hub id")
    a.add_argument("id")
    a.add_argument("--type", required=True, choices=[t.value for t in ModelType])
    a.add_argument("--name")
    a.add_argument("--folder", help="local diffusers folder")
    a.add_argument("--file", help="single-file .safetensors checkpoint (or LoRA file)")
    a.add_argument("--config", help="for --file: diffusers folder or hub id holding the configs")
    a.add_argument("--hub", help="hub repo id, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5")
    a.add_argument("--inpaint-folder", help="9-channel inpainting variant, diffusers folder")
    a.add_argument("--inpaint-file", help="9-channel inpainting variant, single file")
    a.add_argument("--inpaint-config", help="for --inpaint-file: its config folder")
    a.add_argument("--scheduler", choices=ALL_SCHEDULERS, metavar="NAME", help="default scheduler")
    a.add_argument(
        "--variant",
        choices=["dev", "schnell", "distilled"],
        help="FLUX.1 schnell (4 steps, no guidance) or dev; FLUX.2 klein distilled (default: read from a local folder)",
    )
    a.add_argument("--epoch", action="append", default=[], help="a LoRA's epoch as NAME=PATH (repeatable)")
    a.add_argument(
        "--concept", action="append", default=[], help="a composition's LoRA as MODEL_ID:SCALE[@EPOCH] (repeatable)"
    )
    a.add_argument("--ip-style", help="style IP-Adapter weights (path or owner/repo/path)")
    a.add_argument("--ip-style-encoder", help="its image encoder folder (path or owner/repo/path)")
    a.add_argument("--ip-style-mode", choices=["global", "instantstyle"], default="global")
    a.add_argument(
        "--ip-style-blocks",
        help='per-block scale multipliers as JSON (InstantStyle), e.g. {"up": {"block_0": [0, 1, 0]}}',
    )
    a.add_argument("--ip-character", help="character (face) IP-Adapter weights")
    a.add_argument("--ip-character-encoder", help="its image encoder folder")
    a.add_argument(
        "--compliant", action="append", default=[], help="for LoRAs: a base model id it fits; compositions: the base"
    )
    a.add_argument("--replace", action="store_true", help="replace an existing entry with the same id")
    p.set_defaults(func=cmd_models)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diffuserve", description=__doc__)
    parser.add_argument("--data-dir", help="data folder (default ./data or $DIFFUSERVE_DATA_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_models(sub)
    add_serve_commands(sub)
    add_mcp_command(sub)
    add_db_commands(sub)
    add_worker_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_on_import()  # torch-free: the engine, and diffusers with it, load only in the commands that run it
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        code: int = args.func(args)
        return code
    except (CliError, DiffuserveError) as exc:
        print(f"diffuserve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # pydantic validation of a registry entry, an enum value
        print(f"diffuserve: {first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
