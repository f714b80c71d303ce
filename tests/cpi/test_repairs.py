"""Calls that must converge after trouble: retries after a failed restart, VMs VMware cannot read,
calls on CIDs that do not exist. Driven through the JSON layer against the simulator."""

from __future__ import annotations

from pathlib import Path

from tests.cpi.conftest import Cpi
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmrun import StopMode, Vmrun
from vmtk_sim import Power

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


# --- a restart left pending by a failed or interrupted cold edit ----------------------------

CANCELLED = "Error: The operation was canceled"


def _marker(cpi: Cpi, vm: str) -> Path:
    return cpi.vm_dir(vm) / "restart-pending"


def _vm_and_disk(cpi: Cpi, *, attached: bool) -> tuple[str, str]:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 64, {}, vm)
    if attached:
        cpi("attach_disk", vm, disk)
    return vm, disk


def test_attach_retried_after_a_failed_restart_starts_the_vm(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=False)
    cpi.fail_next("start", CANCELLED)
    assert "The operation was canceled" in cpi.error("attach_disk", vm, disk)["message"]
    assert _power(cpi, vm) is Power.OFF and _marker(cpi, vm).exists()
    assert cpi("attach_disk", vm, disk) == "2"  # the edit is done: only the start is left
    assert _power(cpi, vm) is Power.RUNNING and not _marker(cpi, vm).exists()


def test_detach_retried_after_a_failed_restart_starts_the_vm_before_answering_not_attached(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=True)
    cpi.fail_next("start", CANCELLED)
    cpi.error("detach_disk", vm, disk)
    assert cpi.error("detach_disk", vm, disk)["type"] == "Bosh::Clouds::DiskNotAttached"
    assert _power(cpi, vm) is Power.RUNNING and not _marker(cpi, vm).exists()


def test_a_reboot_whose_start_failed_is_completed_by_the_next_attach(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=True)
    cpi.fail_next("start", CANCELLED)
    cpi.error("reboot_vm", vm)
    assert cpi("attach_disk", vm, disk) == "2"
    assert _power(cpi, vm) is Power.RUNNING


def test_a_kill_between_stop_and_edit_is_repaired_by_the_retry(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=False)
    _vmrun(cpi).stop(str(cpi.vmx(vm)), StopMode.HARD)
    _marker(cpi, vm).write_bytes(b"")  # what a CPI killed right after its stop leaves
    assert cpi("attach_disk", vm, disk) == "2"
    assert _power(cpi, vm) is Power.RUNNING and not _marker(cpi, vm).exists()


def test_a_pending_marker_on_a_running_vm_costs_one_list_and_no_start(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=True)
    _marker(cpi, vm).write_bytes(b"")  # e.g. a failed stop: the VM kept running
    before = cpi.calls()
    assert cpi("attach_disk", vm, disk) == "2"
    verbs = [c["argv"] for c in cpi.host.calls()[before:]]
    assert len(verbs) == 1 and "list" in verbs[0]
    assert not _marker(cpi, vm).exists()


def test_has_vm_and_get_disks_stay_free_of_vmrun_runs_with_a_restart_pending(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    _marker(cpi, vm).write_bytes(b"")
    before = cpi.calls()
    assert cpi("has_vm", vm) is True and cpi("get_disks", vm) == []
    assert cpi.calls() == before


def test_clean_cold_edits_leave_no_marker(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=True)
    cpi("reboot_vm", vm)
    cpi("detach_disk", vm, disk)
    assert not _marker(cpi, vm).exists() and _power(cpi, vm) is Power.RUNNING


# --- lock files ---------------------------------------------------------------------------------

UNKNOWN = "0b1c2d3e-aaaa-4bbb-8ccc-00000000dead"
# The one lock that names no resource: MAC allocation across the whole store (bounded: one file).
SHARED_LOCKS = {"macs.lock"}


def _lock_files(cpi: Cpi) -> set[str]:
    locks = cpi.store / ".locks"
    return {p.name for p in locks.iterdir()} - SHARED_LOCKS if locks.is_dir() else set()


def test_a_full_lifecycle_leaves_no_lock_file(cpi: Cpi) -> None:
    stemcell = cpi.new_stemcell()
    vm, _ = cpi.create_vm(stemcell)
    disk = cpi("create_disk", 64, {}, vm)
    cpi("attach_disk", vm, disk)
    cpi("set_vm_metadata", vm, {"name": "z"})
    cpi("set_disk_metadata", disk, {"a": "b"})
    snapshot = cpi("snapshot_disk", disk, {})
    cpi("reboot_vm", vm)
    cpi("detach_disk", vm, disk)
    cpi("resize_disk", disk, 128)
    assert _lock_files(cpi)  # live resources keep theirs
    cpi("delete_snapshot", snapshot)
    cpi("delete_disk", disk)
    cpi("delete_vm", vm)
    cpi("delete_stemcell", stemcell)
    assert not list(cpi.store.glob("cs-*")) and not list(cpi.store.glob("vm-*"))
    assert _lock_files(cpi) == set()


def test_calls_on_unknown_cids_leave_no_lock_file_and_keep_live_ones(cpi: Cpi) -> None:
    vm, disk = _vm_and_disk(cpi, attached=False)
    kept = _lock_files(cpi)
    for method, args in {
        "delete_vm": (UNKNOWN,),
        "reboot_vm": (UNKNOWN,),
        "attach_disk": (vm, UNKNOWN),
        "detach_disk": (UNKNOWN, disk),
        "delete_disk": (UNKNOWN,),
        "resize_disk": (UNKNOWN, 9),
        "update_disk": (UNKNOWN, 9, {}),
        "delete_stemcell": (UNKNOWN,),
    }.items():
        cpi.raw(method, *args)
    assert _lock_files(cpi) == kept and f"vm-{vm}.lock" in kept  # the live VM's lock is kept
