"""The Lab on the simulator: templates, VM settings, boot, finish, keep, and a killed test process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.plugin.conftest import clone_dirs, needs_sandbox
from toolkit.errors import ConfigError, GuestCommandError
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmx import Vmx
from vmtk_harness.harness import Lab, LabConfig, VmSpec
from vmtk_harness.template import BASE_SNAPSHOT
from vmtk_sim import Power


@pytest.fixture
def workdir(tmp_path: Path) -> str:
    return str(tmp_path / "lab")


@pytest.fixture
def lab(workdir: str) -> Lab:
    return Lab.open(LabConfig(workdir=workdir), clock=FakeClock())


def test_a_clone_gets_the_settings_asked_for(lab: Lab) -> None:
    vm = lab.clone(VmSpec(memory_mb=2048, cpus=2), label="test_settings")

    config = Vmx.parse(Path(vm.vmx).read_bytes())
    assert (config.get("memsize"), config.get("numvcpus")) == ("2048", "2")
    assert vm.name.startswith("vmtk-main-test-settings-")


def test_the_template_is_snapshotted_once_for_every_lab_sharing_a_workdir(lab: Lab, workdir: str) -> None:
    lab.clone(label="a")
    other = Lab.open(LabConfig(workdir=workdir), clock=FakeClock())
    other.clone(label="b")

    assert [s.name for s in lab.vmrun.list_snapshots(lab.template.vmx)] == [BASE_SNAPSHOT]
    assert lab.template == other.template


def test_a_running_template_is_refused(workdir: str, tmp_path: Path) -> None:
    probe = Lab.open(LabConfig(workdir=workdir), clock=FakeClock())
    assert probe.sim is not None
    vmx = probe.sim.make_vm(str(tmp_path / "mine" / "mine.vmx"))
    probe.vmrun.start(vmx)
    lab = Lab.open(LabConfig(workdir=workdir, template=vmx), clock=FakeClock())

    with pytest.raises(ConfigError, match="is running; power it off first"):
        lab.clone()


def test_a_missing_template_is_refused(workdir: str) -> None:
    lab = Lab.open(LabConfig(workdir=workdir, template="/no/such/template.vmx"), clock=FakeClock())

    with pytest.raises(ConfigError, match="does not exist"):
        lab.clone()


@needs_sandbox
@pytest.mark.real_process
def test_a_vm_is_booted_for_the_block_and_destroyed_after_it(lab: Lab, workdir: str) -> None:
    with lab.vm(label="block") as vm:
        assert lab.sim is not None and lab.sim.vm(vm.vmx).tools == "running"
        assert vm.guest.sh("echo $USER").check().stdout == "vcap\n"

    assert clone_dirs(workdir) == []
    assert [r.action for r in vm.transcript.records] == ["power on", "wait_for_tools", "run"]


@needs_sandbox
@pytest.mark.real_process
def test_a_failing_block_destroys_its_vm_too(lab: Lab, workdir: str) -> None:
    with pytest.raises(GuestCommandError, match="exited with code 4"), lab.vm() as vm:
        vm.guest.sh("exit 4").check()

    assert clone_dirs(workdir) == []


@needs_sandbox
@pytest.mark.real_process
def test_with_keep_failed_a_failing_vm_stays_unmarked_and_survives_sweeps(workdir: str) -> None:
    lab = Lab.open(LabConfig(workdir=workdir, keep_failed=True), clock=FakeClock())
    with pytest.raises(GuestCommandError), lab.vm() as vm:
        vm.guest.sh("exit 1").check()

    assert clone_dirs(workdir) == [vm.name]
    assert lab.sweep() == []
    assert Path(vm.vmx).exists()
    assert vm.transcript.notes == [f"kept for inspection: {vm.vmx}"]


@needs_sandbox
@pytest.mark.real_process
def test_a_killed_test_process_leaves_nothing_once_the_next_lab_opens(workdir: str) -> None:
    with subprocess.Popen([sys.executable, "-c", KILLED_WORKER, workdir], stdout=subprocess.PIPE, text=True) as worker:
        assert worker.stdout is not None
        vmx = worker.stdout.readline().strip()
        os.kill(worker.pid, signal.SIGKILL)
    assert Path(vmx).is_file(), "the worker did not make its VM"
    assert clone_dirs(workdir) != []

    lab = Lab.open(LabConfig(workdir=workdir), clock=FakeClock())

    assert clone_dirs(workdir) == []
    assert lab.sim is not None and lab.sim.vm(vmx).power is Power.OFF
    assert lab.vmrun.list_running() == []


KILLED_WORKER = textwrap.dedent(
    """
    import sys, time
    from vmtk_harness.harness import Lab, LabConfig
    lab = Lab.open(LabConfig(workdir=sys.argv[1], worker="gw7"))
    vm = lab.clone(label="doomed")
    lab.boot(vm)
    vm.guest.start("/bin/sleep", "600")
    print(vm.vmx, flush=True)
    time.sleep(600)
    """
)


def test_a_full_stemcell_tarball_is_imported_once_and_reused(tmp_path: Path) -> None:
    stemcell = next((Path(__file__).resolve().parents[2] / "fixtures" / "stemcell").glob("bosh-stemcell-*.tgz"))
    config = LabConfig(workdir=str(tmp_path / "lab"), template=str(stemcell))

    first = Lab.open(config, clock=FakeClock()).template
    second = Lab.open(config, clock=FakeClock()).template

    assert first == second
    assert Path(first.vmx).name == "vmtk-template.vmx" and Path(first.vmx).is_file()
    assert len(list((tmp_path / "lab" / "templates").iterdir())) == 1
    assert first.snapshot == BASE_SNAPSHOT


def test_on_player_the_template_is_not_snapshotted_and_clones_are_copies(workdir: str) -> None:
    probe = Lab.open(LabConfig(workdir=workdir), clock=FakeClock())
    assert probe.sim is not None
    probe.sim.configure(product="player")
    lab = Lab.open(LabConfig(workdir=workdir), clock=FakeClock())

    vm = lab.clone(label="player")

    assert lab.template.snapshot is None
    assert Vmx.parse(Path(vm.vmx).read_bytes()).get("uuid.action") == "create"
