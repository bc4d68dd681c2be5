"""Loading a registered model's weights into diffusers pipelines: local folder, single file, or hub repo."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from diffusers import DiffusionPipeline

from diffuserve.catalog.registry import ModelSource
from diffuserve.errors import ModelLoadError, first_line

log = logging.getLogger(__name__)

_LOAD_ERRORS = (OSError, ValueError, RuntimeError, KeyError, TypeError, AttributeError, NotImplementedError)


def split_hub_ref(ref: str) -> tuple[str, str]:
    """`owner/repo/sub/path` → (`owner/repo`, `sub/path`)."""
    parts = ref.split("/")
    if len(parts) < 2 or ref.startswith(("/", ".", "~")):
        raise ModelLoadError(f"{ref!r} is neither an existing local path nor a hub reference owner/repo[/path]")
    return "/".join(parts[:2]), "/".join(parts[2:])


def is_local(ref: str) -> bool:
    """A reference that looks like a path (absolute, relative with ./, or existing) is local."""
    return ref.startswith(("/", ".", "~")) or Path(ref).exists()


def _check_local(model_id: str, source: ModelSource) -> None:
    path = Path(source.path).expanduser()
    if source.kind == "folder":
        if not path.is_dir():
            raise ModelLoadError(f"model {model_id!r}: folder {path} does not exist (expected a diffusers folder)")
        if not (path / "model_index.json").is_file():
            raise ModelLoadError(
                f"model {model_id!r}: {path / 'model_index.json'} is missing (expected a diffusers folder saved "
                "with save_pretrained)"
            )
    elif source.kind == "single_file":
        if not path.is_file():
            raise ModelLoadError(
                f"model {model_id!r}: checkpoint file {path} does not exist (expected a .safetensors file)"
            )
        if source.config and is_local(source.config) and not Path(source.config).expanduser().is_dir():
            raise ModelLoadError(
                f"model {model_id!r}: config folder {source.config} does not exist (expected a diffusers folder "
                "holding the model's configs)"
            )


def load_pipeline(
    model_id: str,
    source: ModelSource,
    cls: type[DiffusionPipeline],
    *,
    dtype: torch.dtype,
    single_file_component: str | None = None,
) -> DiffusionPipeline:
    """Load `source` as pipeline class `cls` on the CPU; every failure becomes a ModelLoadError naming the file.

    `single_file_component`: the family's single files hold that component only (a FLUX transformer); the
    other components come from `source.config`, a diffusers folder or hub repo of the same architecture."""
    _check_local(model_id, source)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if "safety_checker" in cls.__init__.__code__.co_varnames:
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        if source.kind == "single_file":
            config = source.config
            kwargs["local_files_only"] = config is None or is_local(config)
            if config is not None:
                kwargs["config"] = str(Path(config).expanduser()) if is_local(config) else config
            path = str(Path(source.path).expanduser())
            if single_file_component is not None and config is not None:
                pipe = _load_component_file(cls, path, single_file_component, kwargs)
            else:
                pipe = cls.from_single_file(path, **kwargs)
        elif source.kind == "folder":
            pipe = cls.from_pretrained(str(Path(source.path).expanduser()), local_files_only=True, **kwargs)
        else:
            pipe = cls.from_pretrained(source.path, **kwargs)
    except _LOAD_ERRORS as exc:
        hint = ""
        if source.kind == "hub" or (source.kind == "single_file" and source.config is None):
            hint = " (offline? download it and register the local folder or pass a local config folder)"
        if missing := _missing_packages(source):
            hint = f" ({missing})"
        raise ModelLoadError(
            f"model {model_id!r}: could not load {source.kind} {source.path}: {first_line(exc)}{hint}"
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _missing_packages(source: ModelSource) -> str | None:
    """Which transformers component of a local folder is a placeholder for want of a package (FLUX.2 [dev]'s
    PixtralProcessor needs torchvision) and which packages; None when every one can be built."""
    ref = source.path if source.kind == "folder" else source.config
    if not ref or not is_local(ref):
        return None
    try:
        index = json.loads((Path(ref).expanduser() / "model_index.json").read_text())
    except (OSError, ValueError):
        return None
    import transformers

    for value in index.values() if isinstance(index, dict) else ():
        if isinstance(value, list) and len(value) == 2 and value[0] == "transformers":
            cls: Any = getattr(transformers, str(value[1]), None)
            if getattr(cls, "is_dummy", False):  # transformers' stand-in for a class whose backends are missing
                return f"{value[1]} needs {', '.join(map(str, cls._backends))}, which is not installed"
    return None


def _load_component_file(
    cls: type[DiffusionPipeline], path: str, component: str, kwargs: dict[str, Any]
) -> DiffusionPipeline:
    """A single file holding one component (original or diffusers key names), the rest from `config`."""
    config = kwargs.pop("config")
    expected = cls._get_signature_types()[component]  # the component's declared class, e.g. FluxTransformer2DModel
    component_cls = expected[0] if isinstance(expected, tuple) else expected
    model = component_cls.from_single_file(
        path,
        config=config,
        subfolder=component,
        torch_dtype=kwargs["dtype"],
        local_files_only=kwargs["local_files_only"],
    )
    return cls.from_pretrained(config, **{component: model}, **kwargs)


def module_bytes(pipe: DiffusionPipeline) -> int:
    """Memory held by the pipeline's torch modules (parameters and buffers)."""
    total = 0
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            total += sum(t.numel() * t.element_size() for t in component.parameters())
            total += sum(t.numel() * t.element_size() for t in component.buffers())
    return total
