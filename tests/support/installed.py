"""The project as a user installs it: its wheel, built from a clean copy of this checkout, in a fresh venv.

``install(base)`` copies the checkout (no build/, egg-info or venv of it leaks
in), builds the wheel, and installs it (not editable) with its ``ssh`` and
``sim`` extras, pytest and pytest-xdist into a new venv from the package index,
as a user would; ``Installed.run`` runs a command from a user's directory
outside the checkout with no ``PYTHONPATH``. ``shared_install`` builds it once
per test run for all xdist workers (under a lock). Nothing here asserts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import filelock
import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    home: Path  # a user's directory, outside the checkout

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("VMTK_", "VMRUN_SIM", "PYTHON", "PYTEST"))}
        return {**base, "PATH": f"{self.bin}{os.pathsep}{base.get('PATH', '')}", **extra}

    def run(self, *argv: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=self.home, env=self.env(**extra), capture_output=True, text=True, timeout=timeout
        )


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        pytest.fail(f"pip {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def install(base: Path) -> Installed:
    source = base / "source"  # a clean copy: no build/ or egg-info of the checkout leaks in
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "*.egg-info", "build", "dist")
    )
    _pip(Path(sys.executable), "wheel", "--no-deps", "--quiet", "-w", str(base / "dist"), str(source))
    (wheel,) = (base / "dist").glob("vmrun_toolkit-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=300)
    python = base / "venv" / "bin" / "python"
    _pip(python, "install", "--quiet", f"{wheel}[ssh,sim]", "pytest", "pytest-xdist")
    home = base / "user"
    home.mkdir()
    return Installed(wheel, python.parent, home)


def shared_install(run_dir: Path) -> Installed:
    """``install`` into ``run_dir/installed`` once; later callers (other xdist workers too) get the same one."""
    base = run_dir / "installed"
    run_dir.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(run_dir / "installed.lock")):
        if not (base / "user").is_dir():
            shutil.rmtree(base, ignore_errors=True)  # a build cut short
            base.mkdir()
            return install(base)
    python = base / "venv" / "bin" / "python"
    return Installed(next((base / "dist").glob("vmrun_toolkit-*.whl")), python.parent, base / "user")
