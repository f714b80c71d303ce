"""Every ```` ```sh example ```` and ```` ```python example ```` block in README.md and docs/cli.md runs as written.

Each block runs with ``bash -e`` in its own temporary directory, with its own
``VMRUN_SIM_HOME`` and the virtualenv's ``bin`` first on ``PATH``, so the
examples work without VMware, against the simulator.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/cli.md")
BLOCK = re.compile(r"^```sh example[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python example[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def example_blocks() -> list[tuple[str, str]]:
    found = []
    for name in DOCUMENTS:
        path = ROOT / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            found += [(f"{name}#{i + 1}", block) for i, block in enumerate(BLOCK.findall(text))]
            found += [(f"{name}#py{i + 1}", _as_shell(b)) for i, b in enumerate(PYTHON_BLOCK.findall(text))]
    return found


def _as_shell(python: str) -> str:
    """A Python example run as a script, the way a reader would save and run it."""
    return f"cat > example.py <<'EXAMPLE'\n{python}EXAMPLE\npython example.py\n"


BLOCKS = example_blocks()


def test_the_block_pattern_finds_tagged_blocks_only() -> None:
    text = "```sh\nnot me\n```\n```sh example\necho yes\n```\n```python\nno\n```\n"
    assert BLOCK.findall(text) == ["echo yes\n"]


@pytest.mark.real_process
@pytest.mark.skipif(not BLOCKS, reason="no ```sh example blocks yet")
@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[w for w, _ in BLOCKS] or None)
def test_example_runs(where: str, block: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMTK_")}
    env["VMRUN_SIM_HOME"] = str(tmp_path / "sim-home")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # Examples are written for the repository root: give them its fixtures, but write elsewhere.
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    done = subprocess.run(
        ["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{where} failed:\n{block}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
