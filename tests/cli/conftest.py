"""The command line as users run it: `python -m diffuserve ...` in a subprocess, on a data folder of its own with
the session's tiny demo models."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from diffuserve.catalog.registry import ModelSpec

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Cli:
    data_dir: Path
    env: dict[str, str]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "diffuserve", *args]

    def run(self, *args: str, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )


@pytest.fixture()
def cli(tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]) -> Cli:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "DIFFUSERVE_DATA_DIR": str(data),
        "DIFFUSERVE_DEMO_MODELS_DIR": str(demo_root),
        "DIFFUSERVE_MAX_BATCH_IMAGES": "1",  # one image per pipeline call: two images are two batches
    }
    return Cli(data, env)
