"""Orphans in a CPI store built by real CPI calls on the simulated host, then damaged as crashes do."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cpi.ids import DiskCid, StemcellCid, VmCid
from cpi.orphans import Orphan, OrphanKind, find_orphans, remove_orphan
from cpi.store import Store
from tests.cpi.conftest import Cpi
from toolkit.errors import LockTimeout


@dataclass
class Live:
    """A store in use: a stemcell, a VM cloned from it, a disk attached to it, a snapshot of the disk."""

    cpi: Cpi
    store: Store
    stemcell: str
    vm: str
    disk: str
    snapshot: str

    @property
    def root(self) -> Path:
        return self.cpi.store


@pytest.fixture
def live(cpi: Cpi) -> Live:
    stemcell = cpi.new_stemcell()
    vm = cpi.create_vm(stemcell)[0]
    disk = cpi("create_disk", 64, {}, vm)
    cpi("attach_disk", vm, disk)
    snapshot = cpi("snapshot_disk", disk, {})
    store = Store(cpi.host.runner(), str(cpi.store), lock_timeout=5.0)
    return Live(cpi, store, stemcell, vm, disk, snapshot)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _id() -> str:
    return str(uuid.uuid4())


# Each damage: what a crash (or a person) leaves, and the one orphan it makes.
def half_created_vm(live: Live) -> Orphan:
    cid = VmCid(_id())
    (live.root / cid.name).mkdir()
    (live.root / cid.name / "env.json").write_text("{}")
    return Orphan(OrphanKind.HALF_CREATED, str(live.root / cid.name), cid)


def half_imported_stemcell(live: Live) -> Orphan:
    cid = StemcellCid(_id())
    (live.root / cid.name).mkdir()
    (live.root / cid.name / "image-disk1.vmdk").write_bytes(b"KDMV")
    return Orphan(OrphanKind.HALF_CREATED, str(live.root / cid.name), cid)


def temp_file_in_vm(live: Live) -> Orphan:
    path = live.root / f"vm-{live.vm}" / "metadata.json.tmp-0a1b2c3d"
    path.write_text("{")
    return Orphan(OrphanKind.TEMP_FILE, str(path), VmCid(live.vm))


def temp_file_of_a_disk_record(live: Live) -> Orphan:
    path = live.root / "disks" / f"disk-{live.disk}.json.tmp-deadbeef"
    path.write_text("{")
    return Orphan(OrphanKind.TEMP_FILE, str(path), DiskCid(live.disk))


def record_without_disk(live: Live) -> Orphan:
    cid = DiskCid(_id())
    path = live.root / "disks" / f"{cid.name}.json"
    path.write_text('{"size_mb": 1}')
    return Orphan(OrphanKind.RECORD_WITHOUT_DISK, str(path), cid)


def disk_without_record(live: Live) -> Orphan:
    cid = DiskCid(_id())
    path = live.root / "disks" / f"{cid.name}.vmdk"
    shutil.copyfile(live.root / "disks" / f"disk-{live.disk}.vmdk", path)  # create_disk killed before its record
    return Orphan(OrphanKind.DISK_WITHOUT_RECORD, str(path), cid)


def stale_lock(live: Live) -> Orphan:
    cid = DiskCid(_id())
    path = live.root / ".locks" / f"{cid.name}.lock"
    path.write_text("")
    return Orphan(OrphanKind.STALE_LOCK, str(path), cid)


def vmware_lock_of_a_gone_disk(live: Live) -> Orphan:
    cid = DiskCid(_id())
    path = live.root / "disks" / f"{cid.name}.vmdk.lck"
    path.mkdir()
    (path / "M12345.lck").write_text("")  # the VM that had it open was killed with it
    return Orphan(OrphanKind.STALE_LOCK, str(path), cid)


def foreign_file(live: Live) -> Orphan:
    (live.root / "notes.txt").write_text("mine")
    return Orphan(OrphanKind.FOREIGN, str(live.root / "notes.txt"))


DAMAGES: list[Callable[[Live], Orphan]] = [
    half_created_vm,
    half_imported_stemcell,
    temp_file_in_vm,
    temp_file_of_a_disk_record,
    record_without_disk,
    disk_without_record,
    stale_lock,
    vmware_lock_of_a_gone_disk,
    foreign_file,
]


def test_a_store_in_use_has_no_orphans(live: Live) -> None:
    assert (live.root / "disks" / f"disk-{live.disk}.vmdk.lck").is_dir()  # VMware's, while the VM runs
    assert find_orphans(live.store) == []


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
def test_each_kind_of_damage_is_found_and_removed_alone(live: Live, damage: Callable[[Live], Orphan]) -> None:
    before = tree(live.root)
    orphan = damage(live)
    damaged = tree(live.root)
    assert find_orphans(live.store) == [orphan]
    assert tree(live.root) == damaged  # finding changes nothing
    assert remove_orphan(live.store, orphan) is True
    assert not Path(orphan.path).exists()
    assert find_orphans(live.store) == []
    after = tree(live.root)
    assert {k: v for k, v in before.items() if not k.startswith(".locks")} == {
        k: v for k, v in after.items() if not k.startswith(".locks")
    }


def test_the_store_still_works_after_collecting(live: Live) -> None:
    for orphan in [damage(live) for damage in DAMAGES]:
        remove_orphan(live.store, orphan)
    live.cpi("detach_disk", live.vm, live.disk)
    live.cpi("delete_vm", live.vm)
    live.cpi("delete_snapshot", live.snapshot)
    live.cpi("delete_disk", live.disk)
    live.cpi("delete_stemcell", live.stemcell)
    assert find_orphans(live.store) == []
    assert sorted(p.name for p in live.root.iterdir() if p.name != ".locks") == ["disks", "snapshots"]


def test_a_deleted_stemcell_is_kept_while_a_clone_uses_it(live: Live) -> None:
    live.cpi("delete_stemcell", live.stemcell)
    assert (live.root / f"cs-{live.stemcell}" / "deleted").exists()
    assert find_orphans(live.store) == []


def test_a_deleted_stemcell_whose_last_clone_vanished_is_collected(live: Live) -> None:
    live.cpi("delete_stemcell", live.stemcell)
    shutil.rmtree(live.root / f"vm-{live.vm}")  # delete_vm killed after removing the directory
    found = find_orphans(live.store)
    stemcell = Orphan(OrphanKind.DELETED_STEMCELL, str(live.root / f"cs-{live.stemcell}"), StemcellCid(live.stemcell))
    assert stemcell in found
    assert remove_orphan(live.store, stemcell) is True
    assert not (live.root / f"cs-{live.stemcell}").exists()


def test_a_disk_without_its_record_is_kept_while_a_vm_uses_it(live: Live) -> None:
    (live.root / "disks" / f"disk-{live.disk}.json").unlink()
    assert find_orphans(live.store) == []


def test_locks_of_live_resources_and_shared_locks_are_not_stale(live: Live) -> None:
    locks = live.root / ".locks"
    for name in (f"vm-{live.vm}", f"cs-{live.stemcell}", f"disk-{live.disk}", f"snapshot-{live.snapshot}", "macs"):
        (locks / f"{name}.lock").touch()
    assert find_orphans(live.store) == []


def test_what_was_repaired_meanwhile_is_kept(live: Live) -> None:
    orphan = half_created_vm(live)
    (Path(orphan.path) / f"{Path(orphan.path).name}.vmx").write_text('.encoding = "UTF-8"\n')
    assert remove_orphan(live.store, orphan) is False
    assert Path(orphan.path).is_dir()


def test_removal_waits_for_the_owners_lock(live: Live) -> None:
    orphan = temp_file_in_vm(live)
    busy = Store(live.cpi.host.runner(), str(live.root), lock_timeout=5.0)
    with busy.lock_for(VmCid(live.vm)), pytest.raises(LockTimeout):
        remove_orphan(live.store, orphan)  # a CPI call holds the VM: not touched
    assert Path(orphan.path).exists()


def test_an_empty_or_missing_store_has_no_orphans(cpi: Cpi, tmp_path: Path) -> None:
    assert find_orphans(Store(cpi.host.runner(), str(tmp_path / "none"), lock_timeout=1.0)) == []


def test_every_finding_says_why(live: Live) -> None:
    for damage in DAMAGES:
        damage(live)
    found = find_orphans(live.store)
    assert {o.kind for o in found} == {d(live).kind for d in DAMAGES} and all(o.why for o in found)
