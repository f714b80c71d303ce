"""Static checks as tests: the lint rule set and the formatter over the whole tree, strict typing of every package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.real_process


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with the test extras)")
    return found


PACKAGES = ["toolkit", "cpi", "vmtk_sim", "vmtk_harness", "vmtk_cli", "release", "benchmarks"]


def test_lint_passes_with_the_project_rule_set() -> None:
    # pyproject.toml's [tool.ruff.lint]: pyflakes, pycodestyle, isort, bugbear, pyupgrade.
    done = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tree_is_formatted() -> None:
    done = subprocess.run(
        [_tool("ruff"), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_package_type_checks_strictly() -> None:
    done = subprocess.run(
        [_tool("mypy"), "--strict", "--no-error-summary", "--cache-dir", str(ROOT / ".mypy_cache"), *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
