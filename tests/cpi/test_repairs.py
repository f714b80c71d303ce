"""Calls that must converge after trouble: retries after a failed restart, VMs VMware cannot read,
calls on CIDs that do not exist. Driven through the JSON layer against the simulator."""

from __future__ import annotations

from pathlib import Path

from tests.cpi.conftest import Cpi
from toolkit.clock import FakeClock
from toolkit.sim import Power
from toolkit.vmrun import StopMode, Vmrun

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "vmrun"
CANNOT_READ = (OUTPUTS / "cannot-read-config.txt").read_text(encoding="utf-8").strip()


def _power(cpi: Cpi, vm: str) -> Power:
    return cpi.host.vm(str(cpi.vmx(vm))).power


def _vmrun(cpi: Cpi) -> Vmrun:
    return Vmrun(cpi.host.runner(), binary="vmrun-sim", clock=FakeClock())


# --- a .vmx VMware cannot read ---------------------------------------------------------------


def test_a_stopped_vm_whose_vmx_cannot_be_read_is_deleted(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 64, {}, vm)
    _vmrun(cpi).stop(str(cpi.vmx(vm)), StopMode.HARD)
    cpi.vmx(vm).write_bytes(cpi.vmx(vm).read_bytes() + b'memsize = "2048\n')  # vmrun: "Cannot read ..."
    assert cpi("delete_vm", vm) is None
    assert not cpi.vm_dir(vm).exists()
    assert cpi("has_disk", disk) is True  # persistent disks live outside the VM directory


def test_a_running_vm_is_not_deleted_when_vmrun_cannot_read_it_to_stop_it(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    cpi.fail_next("stop", CANNOT_READ)
    error = cpi.error("delete_vm", vm)
    assert error["type"] == "Bosh::Clouds::CloudError" and "Cannot read the virtual machine" in error["message"]
    assert cpi.vmx(vm).exists() and _power(cpi, vm) is Power.RUNNING  # not removed under a running VM
    cpi("delete_vm", vm)
    assert not cpi.vm_dir(vm).exists()
