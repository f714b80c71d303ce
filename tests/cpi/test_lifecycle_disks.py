"""Persistent disks through the CPI (contract §5.8 C), on the simulator and on a real host.

Parametrised like ``test_lifecycle.py`` (see ``tests/cpi/hosts.py``): attach,
detach and reattach with their hints, what delete_vm keeps, disk errors, resize,
snapshot and metadata. ``needs_sim`` tests count vmrun runs, which only the
simulator can. Over SSH every disk file is read and written through SFTP
(growing, sparse snapshot copies, records); as in ``test_lifecycle.py`` a
representative subset runs there, covering every disk method, and
``not_remote`` names what covers the rest. Through the ``bosh-vmrun-cpi``
executable (``[exe]``) another subset runs, again covering every disk method
and each disk error path; ``not_spawned`` names what covers the rest there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from tests.cpi.client import ENV, Cpi, iso_settings, vmx_of
from toolkit.formats import vmdk
from toolkit.vmware import devices


@pytest.fixture
def cpi(make_host_cpi: Callable[..., Cpi]) -> Cpi:
    return make_host_cpi()


@pytest.mark.not_remote("hints are chosen above the runner; test_attach_twice_returns_the_same_hint attaches over SSH")
@pytest.mark.not_spawned(
    "hints are chosen inside the CPI; test_attach_twice_returns_the_same_hint attaches through the executable"
)
def test_without_ephemeral_disk_hints_still_start_at_2(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell(), props={"cpu": 1, "ram": 1024})
    assert iso_settings(cpi, vm)["disks"]["ephemeral"] is None
    assert [str(d.slot) for d in devices.hard_disks(vmx_of(cpi, vm))] == ["scsi0:0"]
    disk = cpi("create_disk", 1024, {}, vm)
    assert cpi("attach_disk", vm, disk) == "2"


def test_attach_twice_returns_the_same_hint(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    assert cpi("attach_disk", vm, disk) == "2"
    assert cpi("attach_disk", vm, disk) == "2"
    assert cpi("get_disks", vm) == [disk] and cpi.is_running(vm)
    assert len(devices.hard_disks(vmx_of(cpi, vm))) == 3  # system, ephemeral and this disk once
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {disk: "2"}


@pytest.mark.not_remote("test_attach_twice_returns_the_same_hint attaches twice over SSH")
@pytest.mark.not_spawned("test_attach_twice_returns_the_same_hint attaches twice through the executable")
@pytest.mark.needs_sim("counts vmrun runs")
def test_attach_twice_runs_nothing_the_second_time(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    assert cpi("attach_disk", vm, disk) == "2"
    before = cpi.calls()
    assert cpi("attach_disk", vm, disk) == "2"
    assert cpi.calls() == before


@pytest.mark.not_remote(
    "attach, detach and get_disks run over SSH in test_attach_twice_returns_the_same_hint and the create-env sequence"
)
@pytest.mark.not_spawned(
    "attach, detach and get_disks run through the executable in "
    "test_attach_twice_returns_the_same_hint, test_delete_vm_keeps_attached_disks_for_the_next_vm "
    "and the create-env sequence"
)
def test_several_disks_attach_detach_reattach(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    first, second = cpi("create_disk", 1024, {}, vm), cpi("create_disk", 1024, {}, vm)
    assert (cpi("attach_disk", vm, first), cpi("attach_disk", vm, second)) == ("2", "3")
    assert sorted(cpi("get_disks", vm)) == sorted([first, second])
    cpi("detach_disk", vm, first)
    assert cpi("get_disks", vm) == [second]
    assert str(cpi.store / "disks" / f"disk-{first}.vmdk") not in cpi.vmx(vm).read_text()
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {second: "3"}
    assert cpi("attach_disk", vm, first) == "2"  # the freed unit is reused
    cpi("detach_disk", vm, first)
    assert cpi.is_running(vm)


def test_delete_vm_keeps_attached_disks_for_the_next_vm(cpi: Cpi) -> None:
    stemcell = cpi.new_stemcell()
    vm, _ = cpi.create_vm(stemcell)
    disk = cpi("create_disk", 2048, {}, vm)
    cpi("attach_disk", vm, disk)
    cpi("delete_vm", vm)
    assert not cpi.vm_dir(vm).exists() and cpi("has_vm", vm) is False
    assert cpi("has_disk", disk) is True
    replacement, _ = cpi.create_vm(stemcell, agent="agent-2")
    assert cpi("attach_disk", replacement, disk) == "2"
    assert cpi.error("delete_disk", disk)["type"] == "Bosh::Clouds::CloudError"  # still in use
    assert cpi("has_disk", disk) is True


def test_create_vm_with_an_existing_disk_as_locality_hint(cpi: Cpi) -> None:
    # Contract §5.8 case 11: the disk is made first and passed as disk_cids (a placement hint:
    # one host, so nothing to place); it is not attached by create_vm, and attaches afterwards.
    stemcell = cpi.new_stemcell()
    disk = cpi("create_disk", 2048, {}, None)
    vm, _ = cpi("create_vm", "agent-1", stemcell, {"cpu": 1, "ram": 1024}, cpi.manual(), [disk], ENV)
    assert cpi("has_vm", vm) is True and cpi("get_disks", vm) == []
    assert cpi("attach_disk", vm, disk) == "2"
    assert cpi("get_disks", vm) == [disk]
    cpi("detach_disk", vm, disk)
    cpi("delete_vm", vm)
    assert cpi("has_disk", disk) is True


def test_disk_errors(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    error = cpi.error("detach_disk", vm, disk)
    assert error["type"] == "Bosh::Clouds::DiskNotAttached" and error["ok_to_retry"] is True
    assert cpi.error("attach_disk", vm, "missing-disk")["type"] == "Bosh::Clouds::DiskNotFound"
    assert cpi.error("attach_disk", "missing-vm", disk)["type"] == "Bosh::Clouds::VMNotFound"
    assert cpi.error("resize_disk", disk, 512)["type"] == "Bosh::Clouds::NotSupported"
    assert cpi.error("create_disk", 0, {}, None)["type"] == "Bosh::Clouds::CpiError"


def test_resize_grows_and_keeps_the_disk(cpi: Cpi) -> None:
    disk = cpi("create_disk", 1024, {}, None)
    cpi("resize_disk", disk, 4096)
    with open(cpi.store / "disks" / f"disk-{disk}.vmdk", "rb") as handle:
        assert vmdk.info(handle).capacity_bytes == 4096 * 1024 * 1024
    cpi("resize_disk", disk, 4096)  # same size: nothing to do


def test_update_disk_grows_in_place_and_records_the_cloud_properties(cpi: Cpi) -> None:
    disk = cpi("create_disk", 1024, {"type": "thin"}, None)
    assert cpi("update_disk", disk, 2048, {"type": "thick"}) is None  # null: the CID stays
    with open(cpi.store / "disks" / f"disk-{disk}.vmdk", "rb") as handle:
        assert vmdk.info(handle).capacity_bytes == 2048 * 1024 * 1024
    record = json.loads((cpi.store / "disks" / f"disk-{disk}.json").read_text())
    assert record["cloud_properties"] == {"type": "thick"} and record["size_mb"] == 2048
    assert cpi("update_disk", disk, 2048, {}) is None  # same size, new properties only
    assert json.loads((cpi.store / "disks" / f"disk-{disk}.json").read_text())["cloud_properties"] == {}


@pytest.mark.not_remote(
    "refusals come from the disk's record; "
    "test_update_disk_grows_in_place_and_records_the_cloud_properties runs over SSH"
)
@pytest.mark.not_spawned(
    "refusals come from the disk's record; test_disk_errors returns NotSupported and "
    "test_update_disk_grows_in_place_and_records_the_cloud_properties updates through the executable"
)
def test_update_disk_refusals_leave_the_disk_as_it_was(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {"type": "thin"}, vm)
    before = (cpi.store / "disks" / f"disk-{disk}.json").read_text()
    # Shrinking: NotSupported, so the Director copies onto a new disk instead.
    assert cpi.error("update_disk", disk, 512, {})["type"] == "Bosh::Clouds::NotSupported"
    cpi("attach_disk", vm, disk)
    attached = (cpi.store / "disks" / f"disk-{disk}.json").read_text()
    assert "attached to VM" in cpi.error("update_disk", disk, 2048, {})["message"]
    assert (cpi.store / "disks" / f"disk-{disk}.json").read_text() == attached
    assert json.loads(before)["cloud_properties"] == json.loads(attached)["cloud_properties"] == {"type": "thin"}
    assert cpi.error("update_disk", "disk-missing", 2048, {})["type"] == "Bosh::Clouds::DiskNotFound"
    assert cpi.error("update_disk", disk, "big", {})["type"] == "Bosh::Clouds::CpiError"


def test_snapshot_is_a_sparse_copy_and_deletes_idempotently(cpi: Cpi) -> None:
    disk = cpi("create_disk", 10240, {}, None)
    snapshot = cpi("snapshot_disk", disk, {"deployment": "d"})
    copy = cpi.store / "snapshots" / f"snapshot-{snapshot}.vmdk"
    original = cpi.store / "disks" / f"disk-{disk}.vmdk"
    assert copy.read_bytes() == original.read_bytes()
    # Holes kept (at the toolkit's 1 MiB copy granularity): not 10 GiB, nor even 4 MiB.
    assert os.stat(copy).st_blocks * 512 < 4 * 1024 * 1024
    cpi("delete_snapshot", snapshot)
    cpi("delete_snapshot", snapshot)
    assert not copy.exists()


def test_set_disk_metadata_is_kept_with_the_disk(cpi: Cpi) -> None:
    disk = cpi("create_disk", 1024, {}, None)
    cpi("set_disk_metadata", disk, {"deployment": "zookeeper", "instance_index": "0"})
    record = json.loads((cpi.store / "disks" / f"disk-{disk}.json").read_text())
    assert record["metadata"] == {"deployment": "zookeeper", "instance_index": "0"}
