"""The console scripts end to end: real processes, concurrent invocations, one state."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.sim.conftest import GUEST
from toolkit.errors import CommandTimeout
from toolkit.host.runner import Completed, LocalRunner
from vmtk_sim import SimHost, sandbox

pytestmark = pytest.mark.real_process
BIN = Path(sys.executable).parent
VMRUN_SIM = str(BIN / "vmrun-sim")
PARALLEL = 8


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimHost:
    if not os.path.exists(VMRUN_SIM):
        pytest.skip("vmrun-sim is not installed in this environment")
    monkeypatch.setenv("VMRUN_SIM_HOME", str(tmp_path / "sim-home"))
    host = SimHost(tmp_path / "sim-home")
    host.configure(boot_delay=0.0)
    return host


def vmrun(*args: str, timeout: float = 60.0) -> Completed:
    return LocalRunner().run([VMRUN_SIM, "-T", "ws", *args], timeout=timeout)


def test_no_arguments_prints_the_help_and_exits_255(home: SimHost) -> None:
    answer = LocalRunner().run([VMRUN_SIM], timeout=30)
    assert answer.exit_code == 255
    assert answer.stdout.startswith("\nvmrun version 1.17.0 build-24583834\n")
    assert answer.stderr == ""


def test_start_list_stop_through_the_console_script(home: SimHost, tmp_path: Path) -> None:
    vmx = home.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    assert vmrun("start", vmx, "nogui").exit_code == 0
    assert vmrun("list").stdout == f"Total running VMs: 1\n{vmx}\n"
    assert vmrun("checkToolsState", vmx).stdout == "running\n"
    assert vmrun("stop", vmx, "soft").exit_code == 0
    missing = vmrun("stop", vmx, "hard")
    assert (missing.exit_code, missing.stdout) == (
        255,
        f"Error: The virtual machine is not powered on: {vmx}\n",
    )
    assert [c["argv"][2] for c in home.calls()] == ["start", "list", "checkToolsState", "stop", "stop"]


def test_a_soft_stop_without_tools_really_hangs(home: SimHost, tmp_path: Path) -> None:
    home.configure(boot_delay=3600.0)
    vmx = home.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    vmrun("start", vmx)
    with pytest.raises(CommandTimeout):
        vmrun("stop", vmx, "soft", timeout=1.5)
    assert vmrun("list").stdout.startswith("Total running VMs: 1")


@pytest.mark.skipif(sandbox.unavailable() is not None, reason="no bubblewrap sandbox")
def test_a_no_wait_program_outlives_the_vmrun_process(home: SimHost, tmp_path: Path) -> None:
    vmx = home.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    vmrun("start", vmx)
    assert vmrun(*GUEST, "runProgramInGuest", vmx, "-noWait", "/bin/sleep", "120").exit_code == 0
    ps = vmrun(*GUEST, "listProcessesInGuest", vmx).stdout
    line = next(line for line in ps.splitlines() if "cmd=/bin/sleep 120" in line)
    pid = line.split(",")[0].removeprefix("pid=")
    assert vmrun(*GUEST, "killProcessInGuest", vmx, pid).exit_code == 0
    vmrun("stop", vmx, "hard")


@pytest.mark.slow
@pytest.mark.skipif(sandbox.unavailable() is not None, reason="no bubblewrap sandbox")
def test_parallel_starts_and_guest_runs_keep_the_state_consistent(home: SimHost, tmp_path: Path) -> None:
    vms = [home.make_vm(str(tmp_path / "vms" / f"vm{i}" / f"vm{i}.vmx")) for i in range(PARALLEL)]

    def life(vmx: str) -> tuple[int, int, int]:
        started = vmrun("start", vmx).exit_code
        ran = vmrun(*GUEST, "runProgramInGuest", vmx, "/bin/sh", "-c", "echo $$ > /tmp/pid; exit 5").exit_code
        exists = vmrun(*GUEST, "fileExistsInGuest", vmx, "/tmp/pid").exit_code
        return started, ran, exists

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(life, vms))
    assert results == [(0, 1, 0)] * PARALLEL
    state = json.loads(home.home.state_file.read_text())
    assert sorted(vm["spelling"] for vm in state["vms"].values()) == sorted(vms)
    assert len({vm["id"] for vm in state["vms"].values()}) == PARALLEL
    assert sorted(vmrun("list").stdout.splitlines()[1:]) == sorted(vms)
    assert len(home.calls()) == 3 * PARALLEL + 1


@pytest.mark.skipif(shutil.which("true") is None, reason="needs a POSIX host")
def test_a_broken_sim_json_is_reported_on_stderr_not_as_a_vmrun_answer(home: SimHost) -> None:
    home.home.knobs_file.write_text(json.dumps({"product": "esx", "bogus": 1}))
    answer = vmrun("list")
    assert answer.exit_code == 2 and answer.stdout == ""
    assert "product" in answer.stderr and "bogus" in answer.stderr


def test_the_power_on_hook_gets_the_vmx_and_the_settings_iso(home: SimHost, tmp_path: Path) -> None:
    iso = tmp_path / "env.iso"
    iso.write_bytes(b"")
    vmx = home.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"), cdrom_iso=str(iso))
    record = "import os, sys; open(os.environ['VMRUN_SIM_GUEST_ROOT'] + '/hook.txt', 'w').write(' '.join(sys.argv[1:]))"
    home.configure(power_on_hook=[sys.executable, "-c", record])
    vmrun("start", vmx)
    written = Path(home.vm(vmx).guest_root, "hook.txt")
    deadline = time.monotonic() + 30
    while not written.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert written.read_text() == f"{vmx} {iso}"


def test_ovftool_sim_is_the_ovftool_model_behind_a_console_script(home: SimHost) -> None:
    pytest.importorskip("vmtk_sim.ovftool_model")
    answer = LocalRunner().run([str(BIN / "ovftool-sim"), "--version"], timeout=60)
    assert answer.exit_code == 0 and "VMware ovftool" in answer.stdout
    assert home.calls()[-1]["tool"] == "ovftool"


def test_ovftool_sim_warns_on_stdout_only(home: SimHost, tmp_path: Path) -> None:
    """The reference's fixture manifest names absent files: the toolkit's log of it stays out of stderr."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
    target = tmp_path / "cs" / "cs.vmx"
    done = LocalRunner().run([str(BIN / "ovftool-sim"), str(fixtures / "image.ovf"), str(target)], timeout=60)
    assert (done.exit_code, done.stderr) == (0, "")
    assert "Warning:\n - No manifest entry found for: 'image.vmdk'.\n" in done.stdout
