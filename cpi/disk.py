"""One persistent disk (``disks/disk-<uuid>``) or snapshot (``snapshots/snapshot-<uuid>``) of the store.

A ``Disk`` (from ``Store.disk``) owns its monolithicSparse ``.vmdk`` and its
``.json`` record (size, cloud properties, metadata, the VM it was attached to);
a ``Snapshot`` (``Store.snapshot``) its sparse copy and record (source disk,
metadata). Both change their files only through the Runner. This module never
edits a .vmx, never runs a program and never takes locks; whether a change is
allowed (attached, shrinking) is ``cpi.disks``' to decide.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from cpi import records
from cpi.ids import Cid, DiskCid, SnapshotCid, VmCid
from toolkit.formats import vmdk
from toolkit.host.runner import Runner

MIB = 1024 * 1024
VMDK = ".vmdk"
RECORD = ".json"

C = TypeVar("C", bound=Cid)


class PairedFiles(Generic[C]):
    """A ``<cid>.vmdk`` and its ``<cid>.json`` record, side by side in one folder of the store."""

    def __init__(self, runner: Runner, folder: str, cid: C) -> None:
        self.runner, self.cid = runner, cid
        self.vmdk = str(runner.path.join(folder, cid.name + VMDK))
        self.record_path = str(runner.path.join(folder, cid.name + RECORD))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.cid}, {self.vmdk!r})"

    def anything_left(self) -> bool:
        return any(self.runner.exists(path) for path in (self.vmdk, self.record_path))

    def remove(self) -> None:
        self.runner.remove(self.vmdk)
        self.runner.remove(self.record_path)


class Disk(PairedFiles[DiskCid]):
    def exists(self) -> bool:
        return self.runner.exists(self.vmdk)

    def create(self, size_mb: int, cloud_properties: dict[str, Any]) -> None:
        """An empty disk of ``size_mb`` MiB and its record (attached to no VM yet)."""
        vmdk.create_disk(self.runner, self.vmdk, size_mb)
        self.write_record({"size_mb": size_mb, "cloud_properties": cloud_properties, "metadata": {}, "vm": None})

    def record(self) -> dict[str, Any]:
        return records.read_json_or_empty(self.runner, self.record_path)

    def write_record(self, record: dict[str, Any]) -> None:
        records.write_json(self.runner, self.record_path, record)

    def update(self, **changes: Any) -> None:
        self.write_record({**self.record(), **changes})

    def recorded_vm(self) -> VmCid | None:
        """The VM the record says the disk is attached to (the VM's .vmx has the last word)."""
        value = self.record().get("vm")
        if not isinstance(value, str) or not value:
            return None
        return VmCid(value)

    def set_attached(self, vm: VmCid | None) -> None:
        self.update(vm=str(vm) if vm is not None else None)

    def size_mb(self) -> int:
        with self.runner.open_read(self.vmdk) as handle:
            return vmdk.info(handle).capacity_bytes // MIB

    def grow(self, size_mb: int) -> None:
        """Grow in pure Python, keeping the data (``vmware-vdiskmanager`` is the caller's alternative)."""
        vmdk.grow_disk(self.runner, self.vmdk, size_mb)

    def copy_to(self, snapshot: Snapshot) -> None:
        """A sparse-aware copy (holes kept) of the disk's current contents."""
        with self.runner.open_read(self.vmdk) as src, self.runner.open_write(snapshot.vmdk, mode=0o600) as dst:
            vmdk.copy_sparse(src, dst)


class Snapshot(PairedFiles[SnapshotCid]):
    def write_record(self, disk: DiskCid, metadata: dict[str, Any]) -> None:
        records.write_json(self.runner, self.record_path, {"disk": str(disk), "metadata": metadata})
