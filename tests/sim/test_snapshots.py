"""Snapshots (mirrored in the real .vmsd), clones and deleteVM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.sim.conftest import GUEST, Vmrun
from toolkit.formats.vmdk import info
from toolkit.vmware.vmx import Vmx
from vmtk_sim import Power, SimHost


def vmsd(vmx: str) -> Vmx:
    return Vmx.parse(Path(vmx).with_suffix(".vmsd").read_bytes())


def config(vmx: str) -> Vmx:
    return Vmx.parse(Path(vmx).read_bytes())


def disk_info(path: str):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        return info(handle)


def test_snapshots_are_listed_flat_and_as_a_tree(vmrun: Vmrun, vmx: str) -> None:
    assert vmrun("listSnapshots", vmx).stdout == "Total snapshots: 0\n"
    for name in ("s1", "s2 with space", "s3"):
        assert vmrun("snapshot", vmx, name).exit_code == 0
    assert vmrun("listSnapshots", vmx).stdout == "Total snapshots: 3\ns1\ns2 with space\ns3\n"
    assert vmrun("listSnapshots", vmx, "showTree").stdout == "Total snapshots: 3\ns1\n\ts2 with space\n\t\ts3\n"


def test_a_snapshot_is_recorded_in_the_vmsd_and_moves_the_disk_onto_a_child(vmrun: Vmrun, vmx: str) -> None:
    vmrun("snapshot", vmx, "base")
    dictionary = vmsd(vmx)
    assert dictionary.get("snapshot0.displayName") == "base"
    assert dictionary.get("snapshot0.disk0.fileName") == "web-disk1.vmdk"
    assert dictionary.get("snapshot.current") == dictionary.get("snapshot0.uid") == "1"
    assert config(vmx).get("scsi0:0.fileName") == "web-disk1-000001.vmdk"
    child = disk_info(os.path.join(os.path.dirname(vmx), "web-disk1-000001.vmdk"))
    assert child.parent_hint == os.path.join(os.path.dirname(vmx), "web-disk1.vmdk")
    assert child.capacity_bytes == 64 * 1024 * 1024


def test_duplicate_and_missing_snapshot_names_are_refused(vmrun: Vmrun, vmx: str) -> None:
    vmrun("snapshot", vmx, "s1")
    assert vmrun("snapshot", vmx, "s1").stdout == "Error: A snapshot with the name already exists\n"
    assert vmrun("deleteSnapshot", vmx, "nope").stdout == "Error: The snapshot does not exist\n"
    assert vmrun("revertToSnapshot", vmx, "nope").stdout == "Error: The snapshot does not exist\n"


def test_deleting_a_snapshot_reparents_its_children(vmrun: Vmrun, vmx: str) -> None:
    for name in ("a", "b", "c"):
        vmrun("snapshot", vmx, name)
    assert vmrun("deleteSnapshot", vmx, "b").exit_code == 0
    assert vmrun("listSnapshots", vmx, "showTree").stdout == "Total snapshots: 2\na\n\tc\n"
    assert vmrun("deleteSnapshot", vmx, "a", "andDeleteChildren").exit_code == 0
    assert vmrun("listSnapshots", vmx).stdout == "Total snapshots: 0\n"


def test_revert_leaves_the_vm_powered_off_with_the_snapshots_config(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    vmrun("snapshot", booted, "running-state")
    assert vmrun("revertToSnapshot", booted, "running-state").exit_code == 0
    assert host.vm(booted).power is Power.OFF
    assert vmrun("list").stdout == "Total running VMs: 0\n"
    assert config(booted).get("scsi0:0.fileName") == "web-disk1-000001.vmdk"


def test_a_linked_clone_from_a_snapshot_references_its_disks_and_copies_no_data(
    vmrun: Vmrun, vmx: str, tmp_path: Path
) -> None:
    vmrun("snapshot", vmx, "base")
    target = str(tmp_path / "vms" / "clone-1" / "clone-1.vmx")
    answer = vmrun("clone", vmx, target, "linked", "-snapshot=base", "-cloneName=vm-1")
    assert (answer.exit_code, answer.stdout) == (0, "")
    cloned = config(target)
    assert cloned.get("displayName") == "vm-1"
    assert cloned.get("scsi0:0.fileName") == "web-disk1-cl1.vmdk"
    assert cloned.get("uuid.bios") != config(vmx).get("uuid.bios")
    disk = disk_info(str(tmp_path / "vms" / "clone-1" / "web-disk1-cl1.vmdk"))
    assert disk.parent_hint == os.path.join(os.path.dirname(vmx), "web-disk1.vmdk")
    assert os.path.getsize(tmp_path / "vms" / "clone-1" / "web-disk1-cl1.vmdk") < 4096
    assert vmsd(target).get("cloneOf0") == vmx and vmsd(target).get("sentinel0") == "web-disk1-cl1.vmdk"
    assert vmsd(vmx).get("snapshot0.numClones") == "1" and vmsd(vmx).get("snapshot0.clone0") == target


def test_a_linked_clone_boots_on_its_own(vmrun: Vmrun, vmx: str, tmp_path: Path, host: SimHost) -> None:
    vmrun("snapshot", vmx, "base")
    target = str(tmp_path / "c" / "c.vmx")
    vmrun("clone", vmx, target, "linked", "-snapshot=base")
    assert vmrun("start", target).exit_code == 0
    assert host.vm(target).id != host.vm(vmx).id
    assert vmrun("list").stdout == f"Total running VMs: 1\n{target}\n"


def test_a_linked_clone_without_snapshot_snapshots_the_source_once(vmrun: Vmrun, vmx: str, tmp_path: Path) -> None:
    """The reference CPI clones one stemcell 20 times this way on VMware (driver_test.go): all succeed."""
    for name in ("a", "b", "c"):
        assert vmrun("clone", vmx, str(tmp_path / name / f"{name}.vmx"), "linked").exit_code == 0
    assert vmrun("listSnapshots", vmx).stdout == "Total snapshots: 1\nClone\n"
    assert vmsd(vmx).get("snapshot0.description") == "Created by clone operation."
    assert vmsd(vmx).get("snapshot0.numClones") == "3"
    parent = os.path.join(os.path.dirname(vmx), "web-disk1.vmdk")
    assert disk_info(str(tmp_path / "c" / "web-disk1-cl1.vmdk")).parent_hint == parent


def test_a_linked_clone_of_a_changed_vm_snapshots_it_again(vmrun: Vmrun, vmx: str, tmp_path: Path) -> None:
    assert vmrun("clone", vmx, str(tmp_path / "a" / "a.vmx"), "linked").exit_code == 0
    vmrun("start", vmx)
    vmrun("stop", vmx, "hard")
    assert vmrun("clone", vmx, str(tmp_path / "b" / "b.vmx"), "linked").exit_code == 0
    assert vmrun("listSnapshots", vmx).stdout == "Total snapshots: 2\nClone\nClone\n"


def test_a_full_clone_copies_the_disk(vmrun: Vmrun, vmx: str, tmp_path: Path) -> None:
    target = str(tmp_path / "full" / "full.vmx")
    assert vmrun("clone", vmx, target, "full").exit_code == 0
    disk = disk_info(str(tmp_path / "full" / "web-disk1-cl1.vmdk"))
    assert (disk.create_type, disk.parent_hint) == ("monolithicSparse", None)
    assert config(target).get("displayName") == "Clone of web"
    assert vmsd(target).get("cloneOf0") is None


def test_clone_refusals(vmrun: Vmrun, vmx: str, tmp_path: Path) -> None:
    invalid = vmrun("clone", vmx, str(tmp_path / "x" / "x.vmx"), "linked", "-snapshot=nope")
    assert (invalid.exit_code, invalid.stdout) == (255, "Error: Invalid snapshot name 'nope'\n\n")
    vmrun("start", vmx)
    running = vmrun("clone", vmx, str(tmp_path / "y" / "y.vmx"), "full")
    assert running.stdout == "Error: The virtual machine should not be powered on. It is already running.\n"


def test_delete_vm_removes_its_files_but_leaves_the_directory_and_strangers(
    vmrun: Vmrun, vmx: str, host: SimHost
) -> None:
    directory = os.path.dirname(vmx)
    Path(directory, "notes.txt").write_text("mine")
    vmrun("snapshot", vmx, "s")
    vmrun("start", vmx)
    assert (
        vmrun("deleteVM", vmx).stdout == "Error: The virtual machine should not be powered on. It is already running.\n"
    )
    guest_root = host.vm(vmx).guest_root
    vmrun("stop", vmx, "hard")
    assert vmrun("deleteVM", vmx).exit_code == 0
    assert os.listdir(directory) == ["notes.txt"]
    assert not guest_root.exists()


def test_a_vm_recreated_at_a_deleted_path_gets_a_fresh_guest(
    vmrun: Vmrun, booted: str, host: SimHost, tmp_path: Path
) -> None:
    vmrun(*GUEST, "createDirectoryInGuest", booted, "/root/old")
    vmrun("stop", booted, "hard")
    old_id = host.vm(booted).id
    vmrun("deleteVM", booted)
    host.make_vm(booted)
    assert host.vm(booted).id != old_id


def test_deleting_a_clone_keeps_its_parent_disk(vmrun: Vmrun, vmx: str, tmp_path: Path) -> None:
    target = str(tmp_path / "c" / "c.vmx")
    vmrun("clone", vmx, target, "linked")
    assert vmrun("deleteVM", target).exit_code == 0
    assert os.path.exists(os.path.join(os.path.dirname(vmx), "web-disk1.vmdk"))
    assert os.listdir(tmp_path / "c") == []


@pytest.mark.parametrize("spelling", ["-snapshot=base", "-snapshot base"])
def test_both_snapshot_option_spellings_work(vmrun: Vmrun, vmx: str, tmp_path: Path, spelling: str) -> None:
    vmrun("snapshot", vmx, "base")
    assert vmrun("clone", vmx, str(tmp_path / "c" / "c.vmx"), "linked", *spelling.split(" ")).exit_code == 0


def test_a_snapshot_taken_powered_on_cannot_be_cloned(vmrun: Vmrun, booted: str, tmp_path: Path) -> None:
    vmrun("snapshot", booted, "hot")
    vmrun("stop", booted, "hard")
    answer = vmrun("clone", booted, str(tmp_path / "c" / "c.vmx"), "linked", "-snapshot=hot")
    assert answer.exit_code == 255
    assert not (tmp_path / "c" / "c.vmx").exists()
