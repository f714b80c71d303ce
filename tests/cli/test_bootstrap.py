"""``vmtk bootstrap``: the CPI's bootstrap procedure from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok
from vmtk_sim import SimHost
from vmtk_sim.state import Power

SCRIPT = "echo provisioning; echo half-way >&2; touch /tmp/provisioned; exit {code}\n"


def _script(tmp_path: Path, code: int = 0) -> str:
    path = tmp_path / "provision.sh"
    path.write_text(SCRIPT.format(code=code))
    return str(path)


def _ready_process(vmtk: Vmtk, vmx: str) -> str:
    """A process the simulated guest runs once booted (the agent needs a settings ISO)."""
    listed = vmtk("guest", "ps", vmx, "--json")
    import json

    return Path(json.loads(listed.stdout)[0]["command"].split()[0]).name


@pytest.mark.real_process
def test_bootstrap_starts_the_vm_runs_the_script_and_shows_its_output(
    vmtk: Vmtk, sim: SimHost, vmx: str, tmp_path: Path
) -> None:
    assert_ok(vmtk("vm", "start", vmx))
    sim.clock.advance(5)
    ready = _ready_process(vmtk, vmx)
    assert_ok(vmtk("vm", "stop", vmx, "--hard"))
    result = assert_ok(
        vmtk("bootstrap", vmx, "--script", _script(tmp_path), "--ready-process", ready, "--max-wait", "60")
    )
    assert sim.vm(vmx).power is Power.RUNNING
    assert result.stdout == "provisioning\n" and result.stderr == "half-way\n"
    assert (sim.vm(vmx).guest_root / "tmp" / "provisioned").exists()
    assert (sim.vm(vmx).guest_root / "tmp" / "bootstrap.sh").read_text() == SCRIPT.format(code=0)


@pytest.mark.real_process
def test_bootstrap_exits_with_the_scripts_code(vmtk: Vmtk, sim: SimHost, running_vmx: str, tmp_path: Path) -> None:
    sim.clock.advance(5)
    ready = _ready_process(vmtk, running_vmx)
    result = vmtk(
        "bootstrap",
        running_vmx,
        "--script",
        _script(tmp_path, code=7),
        "--ready-process",
        ready,
        "--script-path",
        "/tmp/other.sh",
    )
    assert result.exit_code == 7
    assert (sim.vm(running_vmx).guest_root / "tmp" / "other.sh").exists()


@pytest.mark.real_process
def test_by_default_a_plain_vm_is_ready_once_tools_answer(vmtk: Vmtk, sim: SimHost, vmx: str, tmp_path: Path) -> None:
    # A plain imported VM runs no bosh-agent: the default must not wait for one.
    result = assert_ok(vmtk("bootstrap", vmx, "--script", _script(tmp_path), "--max-wait", "60"))
    assert result.stdout == "provisioning\n" and (sim.vm(vmx).guest_root / "tmp" / "provisioned").exists()


def test_bootstrap_gives_up_when_the_ready_process_never_comes(vmtk: Vmtk, running_vmx: str, tmp_path: Path) -> None:
    result = vmtk(
        "bootstrap", running_vmx, "--script", _script(tmp_path), "--ready-process", "never-there", "--max-wait", "30"
    )
    assert_error(result, "never-there", "timed out")


def test_bootstrap_takes_the_password_from_the_named_variable(
    app,
    vmtk: Vmtk,
    running_vmx: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    app.environ = {"BOOT_PW": "wrong"}
    line = assert_error(
        vmtk(
            "bootstrap",
            running_vmx,
            "--script",
            _script(tmp_path),
            "--user",
            "vcap",
            "--password-env",
            "BOOT_PW",
            "--max-wait",
            "5",
        )
    )
    assert "wrong" not in line


def test_bootstrap_needs_a_script(vmtk: Vmtk, vmx: str) -> None:
    assert vmtk("bootstrap", vmx).exit_code == 2


@pytest.mark.real_process
def test_bootstrap_of_a_vm_started_by_a_relative_path_finds_it_running(
    vmtk: Vmtk, sim: SimHost, vmx: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = str(Path(vmx).relative_to(tmp_path))
    assert_ok(vmtk("vm", "start", relative))
    sim.clock.advance(5)
    assert_ok(vmtk("bootstrap", relative, "--script", _script(tmp_path), "--ready-process", "bosh-agent",
                   "--max-wait", "60"))  # fmt: skip
