"""scripts/setup says what its first run installs (torch and its size, every pinned package) and is silent when
.venv is up to date, so scripts/serve starts at once."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_setup_plan_names_torch_and_every_pinned_package() -> None:
    done = subprocess.run(
        [str(REPO / "scripts" / "setup"), "--plan", "[dev]"],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch 2.13.0: on Linux the CUDA build, about 3 GB" in done.stderr
    for dep in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert dep.replace("==", " ") in done.stderr, dep
    assert done.stdout == ""


def test_setup_is_silent_when_the_venv_is_up_to_date(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")], check=True, timeout=120)
    digest = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes()).hexdigest()
    (tmp_path / ".venv" / ".diffuserve-installed").write_text(f"{digest} \n")
    done = subprocess.run(
        [str(tmp_path / "scripts" / "setup")], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done.stderr
