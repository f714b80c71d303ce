"""The documented example runs, in parallel, against the simulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin.conftest import needs_sandbox, plugin_args

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "test_guest_example.py"


@needs_sandbox
@pytest.mark.real_process
def test_the_example_passes_under_two_xdist_workers_and_leaves_no_vm(tmp_path: Path) -> None:
    basetemp = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *plugin_args(),
        str(EXAMPLE),
        "-n",
        "2",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={basetemp}",
    ]

    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
    clones = basetemp / "vmtk" / "clones"
    assert sorted(p.name for p in clones.iterdir()) == ["clone.lock"], "VMs were left behind"
