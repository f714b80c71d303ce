"""Static checks as tests: pyflakes-class errors anywhere, strict typing of the library and the CPI."""

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


def test_no_undefined_names_unused_imports_or_syntax_errors() -> None:
    done = subprocess.run(
        [_tool("ruff"), "check", "--select", "F,E9", "--no-cache",
         "toolkit", "cpi", "release", "benchmarks", "tests", "fixtures", "guest_scripts"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_toolkit_and_cpi_type_check_strictly() -> None:
    done = subprocess.run(
        [_tool("mypy"), "--strict", "--no-error-summary", "--cache-dir", str(ROOT / ".mypy_cache"),
         "toolkit", "cpi"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
