"""`diffuserve models list | show | add | remove`: the registry file from the command line. `add` checks the files
it registers (folders, checkpoints, configs, IP-Adapters) before writing anything, so a typo fails now and not at
the first request."""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffuserve.cli_common import CliError, LazyChoices, registry_of, settings_of

if TYPE_CHECKING:
    from diffuserve.catalog.registry import IpAdapterSet, ModelSource, ModelSpec, Registry
    from diffuserve.catalog.types import IpAdapterType
    from diffuserve.cli_common import Subcommands

# model_index.json `_class_name`s of the pipelines each family's checkpoints are saved as.
_FAMILY_PIPELINES = {
    "sd15": ("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"),
    "sdxl": ("StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline"),
    "flux1": ("FluxPipeline", "FluxImg2ImgPipeline", "FluxInpaintPipeline", "FluxFillPipeline", "FluxKontextPipeline"),
    "flux2": ("Flux2KleinPipeline",),
    "flux2-dev": ("Flux2Pipeline",),
}
LORA_FILE = "pytorch_lora_weights.safetensors"  # what a LoRA folder holds (diffusers' save_lora_weights)


def _model_types() -> list[str]:
    from diffuserve.catalog.registry import ModelType

    return [t.value for t in ModelType]


def _scheduler_names() -> tuple[str, ...]:
    from diffuserve.catalog.families import FAMILIES

    return tuple(dict.fromkeys(name for rules in FAMILIES.values() for name in rules.schedulers))


def _is_hub_ref(ref: str, *, parts: int) -> bool:
    """`owner/repo` (parts=2) or `owner/repo/path...` (parts=3) that is not a path."""
    return not ref.startswith(("/", ".", "~")) and len(ref.split("/")) >= parts and not Path(ref).exists()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: not readable JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}


def _check_safetensors(option: str, path: Path) -> None:
    """The header of a .safetensors file parses (a truncated download or another format fails here)."""
    if path.suffix != ".safetensors":
        return
    try:
        with path.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size)) if size < 100_000_000 else None
    except (OSError, struct.error, ValueError) as exc:
        raise CliError(f"{option} {path}: not a readable .safetensors file ({exc})") from exc
    if not isinstance(header, dict):
        raise CliError(f"{option} {path}: not a readable .safetensors file")


def _check_file(option: str, path: Path) -> None:
    if not path.exists():
        raise CliError(f"{option} {path}: no such file")
    if not path.is_file():
        raise CliError(f"{option} {path}: is a folder, expected a file")
    _check_safetensors(option, path)


def _check_pipeline_folder(option: str, path: Path, family: str, *, inpaint: bool = False) -> None:
    if not path.exists():
        raise CliError(f"{option} {path}: no such folder")
    if not path.is_dir():
        raise CliError(f"{option} {path}: is a file, expected a diffusers folder (for a checkpoint file use --file)")
    index = path / "model_index.json"
    if not index.is_file():
        raise CliError(f"{option} {path}: no model_index.json, so not a diffusers folder (saved with save_pretrained)")
    pipeline = str(_read_json(index).get("_class_name", ""))
    expected = _FAMILY_PIPELINES.get(family)
    if expected and pipeline not in expected:
        raise CliError(
            f"{option} {path}: holds a {pipeline or 'unnamed'} pipeline; a {family} model is one of "
            f"{', '.join(expected)} (check --type)"
        )
    if inpaint:
        channels = _read_json(path / "unet" / "config.json").get("in_channels") if (path / "unet").is_dir() else None
        if channels != 9:
            raise CliError(f"{option} {path}: its UNet takes {channels} input channels; an inpainting variant takes 9")


def _check_source(option: str, source: ModelSource, family: str, *, lora: bool, inpaint: bool = False) -> None:
    path = Path(source.path)
    if source.kind == "hub":
        if not _is_hub_ref(source.path, parts=2):
            raise CliError(f"{option} {source.path!r}: expected a hub repo id owner/name")
    elif lora and source.kind == "folder":
        if not path.is_dir():
            raise CliError(f"{option} {path}: no such folder")
        _check_file(option, path / LORA_FILE)
    elif source.kind == "folder":
        _check_pipeline_folder(option, path, family, inpaint=inpaint)
    else:
        _check_file(option, path)
    if source.config is not None and not _is_hub_ref(source.config, parts=2):
        config = Path(source.config).expanduser()
        if not config.is_dir():
            raise CliError(f"--config {source.config}: no such folder (a diffusers folder or a hub id owner/name)")


def _check_adapter(kind: str, adapter: IpAdapterSet) -> None:
    weights, encoder = adapter.weights, adapter.image_encoder
    if not _is_hub_ref(weights, parts=3):
        _check_file(f"--ip-{kind}", Path(weights).expanduser())
    if not _is_hub_ref(encoder, parts=3):
        path = Path(encoder).expanduser()
        if not (path / "config.json").is_file():
            raise CliError(f"--ip-{kind}-encoder {encoder}: not an image encoder folder (no config.json)")


def check_model_files(spec: ModelSpec) -> None:
    """Everything local that `spec` names exists and is what its option promises; hub ids are taken as given."""
    family = spec.type.family
    if spec.source is not None:  # compositions and epoch-only LoRAs have none
        option = {"folder": "--folder", "single_file": "--file", "hub": "--hub"}[spec.source.kind]
        _check_source(option, spec.source, family, lora=spec.type.is_lora)
    for epoch, ref in spec.epochs.items():
        if not _is_hub_ref(ref, parts=3):
            _check_file(f"--epoch {epoch}", Path(ref).expanduser())
    if spec.inpaint_source is not None:
        inpaint_option = "--inpaint-folder" if spec.inpaint_source.kind == "folder" else "--inpaint-file"
        _check_source(inpaint_option, spec.inpaint_source, family, lora=False, inpaint=True)
    for kind, adapter in spec.ip_adapters.items():
        _check_adapter(kind.value, adapter)


def _json_option(flag: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{flag}: not valid JSON ({exc})") from exc


def _local(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def cmd_models(args: argparse.Namespace) -> int:
    registry = registry_of(settings_of(args))
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
    from diffuserve.catalog.registry import ConceptSpec, IpAdapterSet, ModelSource, ModelSpec, ModelType
    from diffuserve.catalog.types import IpAdapterType
    from diffuserve.cli_generate import parse_concept

    sources = [(k, v) for k, v in (("folder", args.folder), ("single_file", args.file), ("hub", args.hub)) if v]
    weightless = ModelType(args.type).is_composition or bool(args.epoch)
    if len(sources) > 1 or (not sources and not weightless):
        raise CliError("models add needs exactly one of --folder, --file, --hub (a composition or --epoch: none)")
    source = None
    if sources:
        kind, path = sources[0]
        source = ModelSource(kind=kind, path=path if kind == "hub" else _local(path), config=args.config)  # type: ignore[arg-type]
    epochs = {}
    for item in args.epoch:
        name, sep, ref = item.partition("=")
        if not sep or not name or not ref:
            raise CliError(f"--epoch {item!r}: expected NAME=PATH, e.g. 000003=~/loras/style-000003.safetensors")
        epochs[name] = _local(ref) if Path(ref).expanduser().exists() else ref
    if args.inpaint_folder and args.inpaint_file:
        raise CliError("give --inpaint-folder or --inpaint-file, not both")
    inpaint = None
    if args.inpaint_folder or args.inpaint_file:
        inpaint = ModelSource(
            kind="folder" if args.inpaint_folder else "single_file",
            path=_local(args.inpaint_folder or args.inpaint_file),
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
            for c in map(parse_concept, args.concept)
        ),
        default_scheduler=args.scheduler,
        ip_adapters=ip_adapters,
        compliant_model_ids=tuple(args.compliant),
    )
    check_model_files(spec)
    registry.add(spec, replace=args.replace)
    print(f"added {spec.id} ({spec.type.value}): {', '.join(spec.capabilities)}")


def add_models_command(sub: Subcommands) -> None:
    p = sub.add_parser("models", help="list, show, add and remove registered models")
    actions = p.add_subparsers(dest="action", required=True, metavar="{list,show,add,remove}")
    actions.add_parser("list", help="one line per model: id, type, capabilities, name")
    actions.add_parser("show", help="a model's registry entry as JSON").add_argument("id", help="model id")
    actions.add_parser("remove", help="remove a model from the registry (its files stay)").add_argument(
        "id", help="model id"
    )
    a = actions.add_parser(
        "add",
        help="register a model from a folder, a single file or a hub id (local files are checked first)",
        description="Adds an entry to the registry file. Exactly one of --folder, --file, --hub. Local paths are "
        "checked now: a diffusers folder of the --type's family, a readable checkpoint, a 9-channel inpainting "
        "variant, IP-Adapter weights and their image encoder folder.",
    )
    a.add_argument("id", help="the id requests use (letters, digits, . _ -)")
    a.add_argument(
        "--type",
        required=True,
        metavar="TYPE",
        choices=LazyChoices(_model_types),
        help="sd-1_5, sd-xl, flux.1, flux.1-krea-dev, flux.1-kontext-dev, flux.2 (klein), flux.2-dev, their -lora "
        "types, or a composition: sd-1_5-composition, sd-xl-composition, flux.1-composition",
    )
    a.add_argument("--name", help="display name (default: the id)")
    a.add_argument("--folder", help="local diffusers folder (a LoRA: the folder holding " + LORA_FILE + ")")
    a.add_argument("--file", help="single-file .safetensors checkpoint (or LoRA file)")
    a.add_argument("--config", help="for --file: diffusers folder or hub id holding the configs (default: none)")
    a.add_argument("--hub", help="hub repo id, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5 (not checked)")
    a.add_argument("--inpaint-folder", help="9-channel inpainting variant, diffusers folder")
    a.add_argument("--inpaint-file", help="9-channel inpainting variant, single file")
    a.add_argument("--inpaint-config", help="for --inpaint-file: its config folder (default: none)")
    a.add_argument(
        "--scheduler",
        metavar="NAME",
        choices=LazyChoices(_scheduler_names),
        help="default scheduler, a diffusers class name (default: the one in the model's config)",
    )
    a.add_argument("--ip-style", help="style IP-Adapter weights (path or owner/repo/path)")
    a.add_argument("--ip-style-encoder", help="its image encoder folder (path or owner/repo/path)")
    a.add_argument(
        "--ip-style-mode",
        choices=["global", "instantstyle"],
        default="global",
        help="global: every attention layer; instantstyle: the style block only (SDXL)",
    )
    a.add_argument(
        "--ip-style-blocks",
        help='per-block scale multipliers as JSON (InstantStyle), e.g. {"up": {"block_0": [0, 1, 0]}} (default: none)',
    )
    a.add_argument("--ip-character", help="character (face) IP-Adapter weights")
    a.add_argument("--ip-character-encoder", help="its image encoder folder")
    a.add_argument(
        "--compliant",
        action="append",
        default=[],
        help="for LoRAs: a base model id it fits; for compositions: the base (repeatable)",
    )
    a.add_argument(
        "--variant",
        choices=["dev", "schnell", "distilled"],
        help="FLUX.1 schnell (4 steps, no guidance) or dev; FLUX.2 klein distilled (default: read from a local folder)",
    )
    a.add_argument(
        "--epoch", action="append", default=[], metavar="NAME=PATH", help="a LoRA's training epoch (repeatable)"
    )
    a.add_argument(
        "--concept",
        action="append",
        default=[],
        metavar="ID[:SCALE][@EPOCH]",
        help="a composition's LoRA (repeatable; default scale: 1)",
    )
    a.add_argument("--replace", action="store_true", help="replace an existing entry with the same id")
    p.set_defaults(func=cmd_models)
