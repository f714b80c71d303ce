"""Host trouble during CPI calls: hangs, Player, failures mid-edit. Nothing orphaned, always an answer."""

from __future__ import annotations

import os

from tests.cpi.conftest import MANUAL, Cpi
from toolkit.vmware.vmx import Vmx
from vmtk_sim import AgentStatus, Power


def test_soft_stop_that_hangs_falls_back_to_hard_within_the_wait(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    cpi.fail_next("stop", hang=True)
    started = cpi.clock.monotonic()
    assert cpi("attach_disk", vm, disk) == "2"
    assert cpi.clock.monotonic() - started < 60  # the 30 s soft-shutdown wait, then hard
    view = cpi.host.vm(str(cpi.vmx(vm)))
    assert view.power is Power.RUNNING


def test_player_cannot_clone_so_the_template_is_copied(cpi: Cpi) -> None:
    cpi.host.configure(product="player")
    stemcell = cpi.new_stemcell()
    vm, _ = cpi.create_vm(stemcell)
    vmx = Vmx.parse(cpi.vmx(vm).read_bytes())
    assert vmx["displayName"] == f"vm-{vm}"
    assert (cpi.vm_dir(vm) / f"cs-{stemcell}-disk1.vmdk").exists()
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING
    cpi("delete_stemcell", stemcell)  # a full copy does not need the template
    assert not (cpi.store / f"cs-{stemcell}").exists()
    cpi("reboot_vm", vm)
    assert cpi.host.vm(str(cpi.vmx(vm))).power is Power.RUNNING


def test_failed_start_after_attach_edit_reports_what_was_being_done(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    cpi.fail_next("start", "Error: The operation was canceled")
    error = cpi.error("attach_disk", vm, disk)
    assert error["type"] == "Bosh::Clouds::CloudError"
    assert error["message"].startswith(f"Attaching disk '{disk}' to VM '{vm}'")
    assert "The operation was canceled" in error["message"]
    # The .vmx edit is kept, so a retry finds the disk attached, repairs the settings and answers the hint.
    assert cpi("attach_disk", vm, disk) == "2"


def test_tools_never_come_up_fails_create_and_cleans_up(cpi: Cpi) -> None:
    cpi.host.configure(boot_delay=10_000)
    error = cpi.error("create_vm", "agent-1", cpi.new_stemcell(), {"disk": 128}, MANUAL, [], {})
    assert error["type"] == "Bosh::Clouds::VMCreationFailed" and error["ok_to_retry"] is True
    assert "VMware Tools" in error["message"]
    assert not [n for n in os.listdir(cpi.store) if n.startswith("vm-")]
    assert cpi.clock.monotonic() - 1_700_000_000.0 < 700  # bounded by vm_start_max_wait_seconds


def test_delete_vm_cleans_a_half_created_directory(cpi: Cpi) -> None:
    leftover = cpi.store / "vm-0b1c2d3e-aaaa-bbbb-cccc-000000000001"
    leftover.mkdir(parents=True)
    (leftover / "env.iso").write_bytes(b"x")
    assert cpi("delete_vm", "0b1c2d3e-aaaa-bbbb-cccc-000000000001") is None
    assert not leftover.exists()


def test_delete_vm_fault_on_delete_is_reported_and_retry_succeeds(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    cpi.fail_next("deleteVM", "Error: This VM is in use.")
    error = cpi.error("delete_vm", vm)
    assert error["type"] == "Bosh::Clouds::CloudError" and f"Deleting VM '{vm}'" in error["message"]
    assert cpi("has_vm", vm) is True  # not silently forgotten
    cpi("delete_vm", vm)
    assert cpi("has_vm", vm) is False


def test_linked_clone_without_its_record_still_protects_the_template(cpi: Cpi) -> None:
    # As after a crash between `vmrun clone` and writing the clone's record.
    stemcell = cpi.new_stemcell()
    vm, _ = cpi.create_vm(stemcell)
    (cpi.vm_dir(vm) / "stemcell").unlink()
    cpi("delete_stemcell", stemcell)
    assert (cpi.store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx").exists()
    cpi("reboot_vm", vm)
    assert cpi.host.vm(str(cpi.vmx(vm))).power is Power.RUNNING
