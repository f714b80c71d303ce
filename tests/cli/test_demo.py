"""The demo (``make demo``) runs end to end on the simulator and cleans up.

How long it takes is printed by the demo itself, not asserted here: tests do not time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # minutes of real processes: make test runs it, make test-fast does not

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.real_process
def test_make_demo_entry_point_succeeds() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vmtk_cli.demo"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for step in ("create_stemcell", "create_vm", "guest processes", "attach_disk", "delete_stemcell", "store is empty"):
        assert step in done.stdout
    assert "bosh-agent" in done.stdout
    assert "         | bootstrap stdout: bootstrap: hello from Linux in the guest\n" in done.stdout  # messages only
    assert "         | bootstrap: /tmp/bootstrap.sh exited with code 0\n" in done.stdout
    assert "Done in" in done.stdout


@pytest.mark.real_process
def test_demo_failure_is_one_error_line(tmp_path: Path) -> None:
    junk = tmp_path / "image"
    junk.write_bytes(b"this is not a stemcell")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("vmtk")), "demo", "--image", str(junk)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: create_stemcell")
    assert "Traceback" not in done.stderr
