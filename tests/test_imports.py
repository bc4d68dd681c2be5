"""The front ends stay light: `diffuserve --help`, the API, MCP and service layers import neither torch nor diffusers,
and registering demo models that are already built needs no torch either. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

from diffuserve.catalog.registry import ModelSpec

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "diffusers", "transformers")


def _modules_under(package: str) -> list[str]:
    folder = REPO.joinpath(*package.split("."))
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(folder)])]


LIGHT_MODULES = [
    *_modules_under("diffuserve.api"),
    *_modules_under("diffuserve.mcp"),
    *_modules_under("diffuserve.service"),
    *_modules_under("diffuserve.catalog"),
    "diffuserve.app",
    "diffuserve.cli",
    "diffuserve.cli_serve",
    "diffuserve.engine.demo",
]

# Prints, as its last line, the heavy libraries the code before it left in sys.modules.
_REPORT_HEAVY = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"


def _heavy_after(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_REPORT_HEAVY}"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    heavy: list[str] = json.loads(done.stdout.splitlines()[-1])
    return heavy


def test_front_end_modules_import_without_torch() -> None:
    assert "diffuserve.api.routes_generate" in LIGHT_MODULES and "diffuserve.mcp.tools" in LIGHT_MODULES
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in LIGHT_MODULES)
    assert _heavy_after(code) == []


def test_cli_help_and_parsing_import_no_torch() -> None:
    code = """
import contextlib, io
from diffuserve.cli import build_parser, main
for argv in (["--help"], ["generate", "--help"], ["models", "--help"], ["serve", "--help"], ["mcp", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
build_parser().parse_args(["generate", "txt2img", "--model", "tiny-sd15", "--prompt", "a fox", "--steps", "2"])
"""
    assert _heavy_after(code) == []


def test_registering_built_demo_models_imports_no_torch(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]
) -> None:
    code = f"""
from pathlib import Path
from diffuserve.catalog.registry import Registry
from diffuserve.engine.demo import register_demo_models
added = register_demo_models(Registry(Path({str(tmp_path / "registry.yaml")!r})), Path({str(demo_root)!r}))
from diffuserve.demo_shapes.catalog import MODEL_IDS
assert added == [*MODEL_IDS, *{[s.id for s in demo_specs]!r}], added  # demo-shapes ships trained, first
"""
    assert _heavy_after(code) == []


def test_diffuserve_help_is_quick() -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "diffuserve.cli", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    seconds = time.perf_counter() - started
    print(f"diffuserve --help: {seconds:.2f} s")
    assert done.returncode == 0 and "usage: diffuserve" in done.stdout, done.stderr
    assert seconds < 5
