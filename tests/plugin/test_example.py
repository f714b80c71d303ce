"""The documented example runs, in parallel, against the simulator, with the command its docstring gives."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin.conftest import entry_point_installed, needs_sandbox

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "test_guest_example.py"


def documented_command() -> str:
    """The first command the example's docstring gives: the one against the simulator."""
    import ast

    docstring = ast.get_docstring(ast.parse(EXAMPLE.read_text(encoding="utf-8"))) or ""
    return next(line.strip() for line in docstring.splitlines() if line.strip().startswith("pytest "))


def test_the_documented_command_loads_the_plugin_once() -> None:
    # `-p vmtk_harness.pytest_plugin` next to the entry point makes pytest refuse to start.
    assert shlex.split(documented_command())[:2] == ["pytest", EXAMPLE.name]
    assert "-p" not in shlex.split(documented_command())


@pytest.mark.slow
@needs_sandbox
@pytest.mark.real_process
@pytest.mark.skipif(not entry_point_installed(), reason="the documented command needs the installed entry point")
def test_the_documented_command_passes_and_leaves_no_vm(tmp_path: Path) -> None:
    basetemp = tmp_path / "run"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    # As a reader types it beside the file, plus where to keep the session's files (to look for leftovers).
    command = f"{documented_command()} -p no:cacheprovider --basetemp={shlex.quote(str(basetemp))}"
    done = subprocess.run(
        ["bash", "-c", command], cwd=EXAMPLE.parent, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
    clones = basetemp / "vmtk" / "clones"
    assert sorted(p.name for p in clones.iterdir()) == ["clone.lock"], "VMs were left behind"
