"""Persistent disks and their snapshots: create, delete, metadata, resize/update, snapshot.

A disk is ``disks/disk-<uuid>.vmdk`` (monolithicSparse, written in pure Python:
no external program) and ``disks/disk-<uuid>.json`` (size, metadata, and the
VM it is attached to, kept by ``cpi.attachments``). Every change takes the
disk's lock. A disk still attached to an existing VM is never deleted or
resized. Snapshots are sparse-aware copies (holes kept) in ``snapshots/``;
when the disk is attached to a running VM the VM is paused for the copy, so the
snapshot is crash-consistent (what a power cut at that instant would leave).
This module never edits a .vmx.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cpi.errors import CloudError, DiskNotFound, NotSupported
from cpi.ids import DiskCid, SnapshotCid, VmCid
from cpi.store import DISKS, SNAPSHOTS, Store
from toolkit.formats import vmdk

if TYPE_CHECKING:
    from toolkit.vmware.vdiskmanager import VDiskManager
    from toolkit.vmware.vmrun import Vmrun

log = logging.getLogger(__name__)

MIB = 1024 * 1024


class Disks:
    def __init__(self, store: Store, *, vmrun: Vmrun | None = None, vdiskmanager: VDiskManager | None = None) -> None:
        self.store = store
        self.vmrun = vmrun
        self.vdiskmanager = vdiskmanager

    def create(self, size_mb: int, cloud_properties: dict[str, Any], vm: VmCid | None) -> DiskCid:
        cid = DiskCid.new()
        self.store.ensure_dir(DISKS)
        try:
            vmdk.create_disk(self.store.runner, self.store.disk_vmdk(cid), size_mb)
            record = {"size_mb": size_mb, "cloud_properties": cloud_properties, "metadata": {}, "vm": None}
            self.store.write_json(self.store.disk_record(cid), record)
        except Exception as exc:
            self._remove_files(cid)
            raise CloudError(f"Creating {size_mb} MiB disk") from exc
        log.info("create_disk %d MiB -> %s", size_mb, cid)
        return cid

    def exists(self, cid: DiskCid) -> bool:
        return self.store.runner.exists(self.store.disk_vmdk(cid))

    def delete(self, cid: DiskCid) -> None:
        with self.store.lock_for(cid):
            self._require(cid)
            user = self.attached_to(cid)
            if user is not None:
                raise CloudError(f"Disk '{cid}' is attached to VM '{user}'; detach it before deleting it")
            self._remove_files(cid)  # its lock file goes as lock_for ends
        log.info("delete_disk %s", cid)

    def set_metadata(self, cid: DiskCid, metadata: dict[str, Any]) -> None:
        with self.store.lock_for(cid):
            self._require(cid)
            record = self.record(cid)
            record["metadata"] = {**record.get("metadata", {}), **metadata}
            self.store.write_json(self.store.disk_record(cid), record)

    def resize(self, cid: DiskCid, size_mb: int) -> None:
        """Grow to ``size_mb`` keeping the data; shrinking is NotSupported (BOSH then copies)."""
        with self.store.lock_for(cid):
            self._resize(cid, size_mb)

    def update(self, cid: DiskCid, size_mb: int, cloud_properties: dict[str, Any]) -> None:
        """``update_disk`` in place: grow as ``resize`` does and record the new cloud properties.

        The disk keeps its CID (the answer is null). Disk cloud properties select
        nothing on a desktop hypervisor (one disk format, one datastore), so new
        ones are recorded as given, never refused. Shrinking is NotSupported, which
        makes the Director fall back to copying onto a new disk.
        """
        with self.store.lock_for(cid):
            self._resize(cid, size_mb)
            self._update(cid, cloud_properties=cloud_properties)
        log.info("update_disk %s: cloud properties now %s", cid, sorted(cloud_properties))

    def _resize(self, cid: DiskCid, size_mb: int) -> None:
        self._require(cid)
        user = self.attached_to(cid)
        if user is not None:
            raise CloudError(f"Disk '{cid}' is attached to VM '{user}'; cannot resize it")
        path = self.store.disk_vmdk(cid)
        current = self.size_mb(path)
        if size_mb < current:
            raise NotSupported(f"Shrinking disk '{cid}' from {current} MiB to {size_mb} MiB is not supported")
        if size_mb > current:
            self._grow(path, size_mb)
            self._update(cid, size_mb=size_mb)
        log.info("resize_disk %s %d -> %d MiB", cid, current, size_mb)

    def snapshot(self, cid: DiskCid, metadata: dict[str, Any]) -> SnapshotCid:
        snap = SnapshotCid.new()
        try:  # around the lock too: an interrupt while it is let go must not leave a snapshot nobody knows
            with self.store.lock_for(cid):
                self._require(cid)
                self.store.ensure_dir(SNAPSHOTS)
                with self._quiesced(self.attached_to(cid)):
                    self._copy(self.store.disk_vmdk(cid), self.store.snapshot_vmdk(snap))
                record = {"disk": str(cid), "metadata": metadata}
                self.store.write_json(self.store.snapshot_record(snap), record)
        except Exception as exc:
            self.store.runner.remove(self.store.snapshot_vmdk(snap))
            self.store.runner.remove(self.store.snapshot_record(snap))
            raise CloudError(f"Snapshotting disk '{cid}'") from exc
        log.info("snapshot_disk %s -> %s", cid, snap)
        return snap

    def delete_snapshot(self, snap: SnapshotCid) -> None:
        """Idempotent: an unknown snapshot is already deleted (orphan cleanup must converge)."""
        self.store.runner.remove(self.store.snapshot_vmdk(snap))
        self.store.runner.remove(self.store.snapshot_record(snap))
        log.info("delete_snapshot %s", snap)

    # --- records -------------------------------------------------------------------------

    def record(self, cid: DiskCid) -> dict[str, Any]:
        return self.store.read_json_or_empty(self.store.disk_record(cid))

    def attached_to(self, cid: DiskCid) -> VmCid | None:
        """The existing VM whose .vmx still uses this disk, according to the disk's record."""
        value = self.record(cid).get("vm")
        if not isinstance(value, str) or not value:
            return None
        vm = VmCid(value)
        vmx = self.store.vm_vmx(vm)
        runner = self.store.runner
        if runner.exists(vmx) and self.store.disk_vmdk(cid).encode() in runner.read_bytes(vmx):
            return vm
        return None  # a stale record (the VM or its reference is gone)

    def set_attached(self, cid: DiskCid, vm: VmCid | None) -> None:
        self._update(cid, vm=str(vm) if vm is not None else None)

    def size_mb(self, path: str) -> int:
        with self.store.runner.open_read(path) as handle:
            return vmdk.info(handle).capacity_bytes // MIB

    def _update(self, cid: DiskCid, **changes: Any) -> None:
        self.store.write_json(self.store.disk_record(cid), {**self.record(cid), **changes})

    def _require(self, cid: DiskCid) -> None:
        if not self.exists(cid):
            raise DiskNotFound(f"Could not find disk with id '{cid}'")

    def _grow(self, path: str, size_mb: int) -> None:
        if self.vdiskmanager is not None:
            self.vdiskmanager.grow(path, size_mb)
        else:
            vmdk.grow_disk(self.store.runner, path, size_mb)

    def _copy(self, source: str, target: str) -> None:
        runner = self.store.runner
        with runner.open_read(source) as src, runner.open_write(target, mode=0o600) as dst:
            vmdk.copy_sparse(src, dst)

    def _quiesced(self, vm: VmCid | None):  # type: ignore[no-untyped-def]
        from cpi.power import paused

        vmx = self.store.vm_vmx(vm) if vm is not None else None
        return paused(self.vmrun, vmx)

    def _remove_files(self, cid: DiskCid) -> None:
        self.store.runner.remove(self.store.disk_vmdk(cid))
        self.store.runner.remove(self.store.disk_record(cid))
