"""The installed ``vmtk`` console script against ``vmrun-sim``, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmtk_sim import SimHost

BIN = Path(sys.executable).parent
VMTK = BIN / "vmtk"

pytestmark = [
    pytest.mark.real_process,
    pytest.mark.skipif(not VMTK.exists(), reason="vmtk is not installed in this environment"),
]


def _run(
    *args: str, home: Path, extra: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMTK_")}
    env.update(
        {
            "VMRUN_SIM_HOME": str(home),
            "VMTK_VMRUN": str(BIN / "vmrun-sim"),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            **(extra or {}),
        }
    )
    return subprocess.run([str(VMTK), *args], env=env, capture_output=True, text=True, timeout=120, input=input)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "sim-home"
    assert _run("sim", "up", "--boot-delay", "0", home=path).returncode == 0
    return path


def test_version_and_help(home: Path) -> None:
    assert _run("--version", home=home).stdout.startswith("vmtk, version ")
    assert "Usage: vmtk" in _run("--help", home=home).stdout


@pytest.mark.slow
def test_vm_lifecycle_and_guest_run(home: Path, tmp_path: Path) -> None:
    vmx = SimHost(home).make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    creds = {"VMTK_GUEST_USER": "vcap", "VMTK_GUEST_PASSWORD": "c1oudc0w"}
    assert _run("vm", "start", vmx, home=home).returncode == 0
    assert json.loads(_run("vm", "list", "--json", home=home).stdout) == [vmx]
    assert _run("guest", "wait", vmx, "--timeout", "30", home=home, extra=creds).returncode == 0
    done = _run("guest", "run", vmx, "/bin/sh", "-c", "echo out; echo err >&2; exit 4", home=home, extra=creds)
    assert (done.returncode, done.stdout, done.stderr) == (4, "out\n", "err\n")
    status = json.loads(_run("sim", "status", "--json", home=home).stdout)
    assert [row["power"] for row in status] == ["running"]
    assert _run("vm", "stop", vmx, "--hard", home=home).returncode == 0


def test_errors_are_one_line_with_exit_1(home: Path, tmp_path: Path) -> None:
    done = _run("vm", "start", str(tmp_path / "missing.vmx"), home=home)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("Error: ")


def test_a_missing_vmrun_is_explained(home: Path, tmp_path: Path) -> None:
    done = _run("vm", "list", home=home, extra={"VMTK_VMRUN": str(tmp_path / "no-vmrun")})
    assert done.returncode == 1 and "no-vmrun" in done.stderr and "Traceback" not in done.stderr


def test_completion_script_is_generated(home: Path) -> None:
    done = _run(home=home, extra={"_VMTK_COMPLETE": "bash_source"})
    assert done.returncode == 0 and "_VMTK_COMPLETE=bash_complete" in done.stdout
