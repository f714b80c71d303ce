"""The simulated agent and the real bosh-agent, sent the same requests, answer alike.

Each test runs once per agent: the simulated one, and the real ``bosh-agent``
(``VMTK_BOSH_AGENT``; skipped without it) that the simulator runs in the VM's
guest sandbox. The requests are those where the simulated agent had to learn
the real agent's rules: which disks it knows, its start-up disk check, and
``list_disk`` around a disk migration.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sim.test_mbus_agent import Vm, free_port, power_off_all
from tests.sim.test_mbus_agent import settings as sim_settings
from tests.support.agent_client import AgentError, AgentRequestError
from toolkit.errors import ConfigError
from toolkit.host.clock import SystemClock
from toolkit.vmware.vmx import Vmx
from vmtk_sim import SimHost
from vmtk_sim.sandbox import unavailable

pytestmark = pytest.mark.real_process

BLOBSTORE = {"provider": "local", "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"}}
REFUSAL = "Comparing persistent disks: Unexpected disk attached"
LOG = "/var/vcap/bosh/log/current"


@pytest.fixture(params=["simulated", "real"])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimHost]:
    binary = os.environ.get("VMTK_BOSH_AGENT")
    if request.param == "real" and not (binary and os.access(binary, os.X_OK)):
        pytest.skip("VMTK_BOSH_AGENT names no bosh-agent binary (.ci/run points it at ../shared/tools)")
    if request.param == "real" and unavailable():
        pytest.skip(f"the real agent runs in the guest sandbox: {unavailable()}")
    sim = SimHost(tmp_path / "sim-home", clock=SystemClock())
    sim.configure(boot_delay=0.2, mbus_agent=True, bosh_agent=binary if request.param == "real" else None)
    yield sim
    power_off_all(sim)


@pytest.fixture
def machine(host: SimHost, tmp_path: Path) -> Vm:
    """A VM with persistent disks at SCSI units 2 and 3, its agent answering."""
    vm = Vm(host, tmp_path, settings(free_port()))
    config = Vmx.parse(Path(vm.vmx).read_bytes())
    for unit in (2, 3):
        shutil.copyfile(Path(vm.vmx).with_name("a-disk1.vmdk"), Path(vm.vmx).with_name(f"data{unit}.vmdk"))
        for key, value in (("present", "TRUE"), ("fileName", f"data{unit}.vmdk"), ("mode", "persistent")):
            config.set(f"scsi0:{unit}.{key}", value)
    config.set("scsi0.present", "TRUE")
    Path(vm.vmx).write_bytes(config.dumps())
    vm.vmrun("start", vm.vmx)
    vm.agent.wait_until_ready(timeout=30, delay=0.1)
    return vm


def settings(port: int) -> dict[str, Any]:
    """What the CPI writes on the CD-ROM: the real agent also needs a blobstore to start."""
    return {**sim_settings(port), "blobstore": BLOBSTORE}


def reboot(vm: Vm) -> None:
    vm.vmrun("reset", vm.vmx, "hard")


def answers_within(vm: Vm, seconds: float) -> bool:
    try:
        vm.agent.wait_until_ready(timeout=seconds, delay=0.1)
    except (AgentError, AgentRequestError, OSError, TimeoutError):
        return False
    return True


def test_an_agent_knowing_two_disks_refuses_to_start(machine: Vm) -> None:
    machine.agent.add_persistent_disk("disk-old", "2")
    machine.agent.add_persistent_disk("disk-new", "3")
    reboot(machine)
    assert not answers_within(machine, 5)
    assert REFUSAL in machine.guest(LOG).read_text()


def test_update_settings_disk_associations_let_it_start_with_two_disks(machine: Vm) -> None:
    machine.agent.add_persistent_disk("disk-old", "2")
    machine.agent.add_persistent_disk("disk-new", "3")
    associations = [{"name": "old", "cid": "disk-old"}, {"name": "new", "cid": "disk-new"}]
    machine.agent.run_task("update_settings", [{"disk_associations": associations}])
    reboot(machine)
    assert answers_within(machine, 30)


def test_one_known_disk_starts_and_is_listed_once_mounted(machine: Vm) -> None:
    machine.agent.add_persistent_disk("disk-old", "2")
    reboot(machine)
    assert answers_within(machine, 30)
    machine.agent.mount_disk("disk-old")
    assert machine.agent.list_disk() == ["disk-old"]


def test_after_a_migration_the_old_disk_is_no_longer_listed(machine: Vm) -> None:
    """The bosh CLI's disk migration, as far as the agent sees it."""
    machine.agent.add_persistent_disk("disk-old", "2")
    machine.agent.mount_disk("disk-old")
    machine.agent.add_persistent_disk("disk-new", "3")
    machine.agent.mount_disk("disk-new")
    assert sorted(machine.agent.list_disk()) == ["disk-new", "disk-old"]
    machine.agent.migrate_disk()
    machine.agent.remove_persistent_disk("disk-old")
    assert machine.agent.list_disk() == ["disk-new"]
    reboot(machine)  # detach_disk(old) restarts the VM: the agent knows one disk
    assert answers_within(machine, 30)
    assert machine.agent.list_disk() == ["disk-new"]


def test_unmounting_a_disk_the_agent_never_heard_of_fails(machine: Vm) -> None:
    with pytest.raises(AgentError, match="Persistent disk with volume id 'disk-x' could not be found"):
        machine.agent.unmount_disk("disk-x")


def test_the_agent_of_a_deleted_vm_is_gone_before_the_next_vm_starts(host: SimHost, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = Vm(host, tmp_path / "first", settings(port))
    first.vmrun("start", first.vmx)
    first.agent.wait_until_ready(timeout=30, delay=0.1)
    first.vmrun("stop", first.vmx, "hard")
    first.vmrun("deleteVM", first.vmx)
    assert _refused(port)  # checked at once: stop returned only after the agent was gone
    second = Vm(host, tmp_path / "second", {**settings(port), "agent_id": "agent-2"})
    second.vmrun("start", second.vmx)
    second.agent.wait_until_ready(timeout=30, delay=0.1)
    assert second.agent.get_state()["agent_id"] == "agent-2"  # the new VM's agent answers, not the old one


def _refused(port: int) -> bool:
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return False
        time.sleep(0.05)
    return True


def test_the_bosh_agent_knob_is_a_path_or_null(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bosh_agent: expected a path or null"):
        SimHost(tmp_path / "h").configure(bosh_agent=7)
    SimHost(tmp_path / "h").configure(bosh_agent=None)


def test_a_paused_vms_agent_ends_when_it_is_stopped(machine: Vm) -> None:
    machine.vmrun("pause", machine.vmx)
    began = time.monotonic()
    machine.vmrun("stop", machine.vmx, "hard")
    assert time.monotonic() - began < 10  # told to continue, then to end: no kill after the wait
    assert _refused(machine.mbus.port)
