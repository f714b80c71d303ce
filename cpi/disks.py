"""Persistent disks and their snapshots: create, delete, metadata, resize/update, snapshot.

A disk is ``disks/disk-<uuid>.vmdk`` (monolithicSparse, written in pure Python:
no external program) and ``disks/disk-<uuid>.json`` (size, metadata, and the
VM it is attached to, kept by ``cpi.attachments``). Every change takes the
disk's lock. A disk still attached to an existing VM is never deleted or
resized. Snapshots are sparse-aware copies (holes kept) in ``snapshots/``;
when the disk is attached to a running VM the VM is paused for the copy, so the
snapshot is crash-consistent (what a power cut at that instant would leave).
The files are the ``Disk`` and ``Snapshot`` handles' (``cpi.disk``); this module
decides what BOSH may do with them. It never edits a .vmx.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from cpi.disk import Disk
from cpi.errors import CloudError, DiskNotFound, NotSupported
from cpi.ids import DiskCid, SnapshotCid, VmCid
from cpi.store import DISKS, SNAPSHOTS, Store

if TYPE_CHECKING:
    from toolkit.vmware.vdiskmanager import VDiskManager
    from toolkit.vmware.vmrun import Vmrun

log = logging.getLogger(__name__)


class Disks:
    def __init__(self, store: Store, *, vmrun: Vmrun | None = None, vdiskmanager: VDiskManager | None = None) -> None:
        self.store = store
        self.vmrun = vmrun
        self.vdiskmanager = vdiskmanager

    def create(self, size_mb: int, cloud_properties: dict[str, Any], vm: VmCid | None) -> DiskCid:
        disk = self.store.disk(DiskCid.new())
        self.store.ensure_dir(DISKS)
        try:
            disk.create(size_mb, cloud_properties)
        except Exception as exc:
            disk.remove()
            raise CloudError(f"Creating {size_mb} MiB disk") from exc
        log.info("create_disk %d MiB -> %s", size_mb, disk.cid)
        return disk.cid

    def exists(self, cid: DiskCid) -> bool:
        return self.store.disk(cid).exists()

    def delete(self, cid: DiskCid) -> None:
        with self.store.lock_for(cid):
            disk = self.require(cid)
            user = self.attached_to(disk)
            if user is not None:
                raise CloudError(f"Disk '{cid}' is attached to VM '{user}'; detach it before deleting it")
            disk.remove()  # its lock file goes as lock_for ends
        log.info("delete_disk %s", cid)

    def set_metadata(self, cid: DiskCid, metadata: dict[str, Any]) -> None:
        with self.store.lock_for(cid):
            disk = self.require(cid)
            record = disk.record()
            record["metadata"] = {**record.get("metadata", {}), **metadata}
            disk.write_record(record)

    def resize(self, cid: DiskCid, size_mb: int) -> None:
        """Grow to ``size_mb`` keeping the data; shrinking is NotSupported (BOSH then copies)."""
        with self.store.lock_for(cid):
            self._resize(self.require(cid), size_mb)

    def update(self, cid: DiskCid, size_mb: int, cloud_properties: dict[str, Any]) -> None:
        """``update_disk`` in place: grow as ``resize`` does and record the new cloud properties.

        The disk keeps its CID (the answer is null). Disk cloud properties select
        nothing on a desktop hypervisor (one disk format, one datastore), so new
        ones are recorded as given, never refused. Shrinking is NotSupported, which
        makes the Director fall back to copying onto a new disk.
        """
        with self.store.lock_for(cid):
            disk = self.require(cid)
            self._resize(disk, size_mb)
            disk.update(cloud_properties=cloud_properties)
        log.info("update_disk %s: cloud properties now %s", cid, sorted(cloud_properties))

    def _resize(self, disk: Disk, size_mb: int) -> None:
        user = self.attached_to(disk)
        if user is not None:
            raise CloudError(f"Disk '{disk.cid}' is attached to VM '{user}'; cannot resize it")
        current = disk.size_mb()
        if size_mb < current:
            raise NotSupported(f"Shrinking disk '{disk.cid}' from {current} MiB to {size_mb} MiB is not supported")
        if size_mb > current:
            self._grow(disk, size_mb)
            disk.update(size_mb=size_mb)
        log.info("resize_disk %s %d -> %d MiB", disk.cid, current, size_mb)

    def snapshot(self, cid: DiskCid, metadata: dict[str, Any]) -> SnapshotCid:
        snap = self.store.snapshot(SnapshotCid.new())
        try:  # around the lock too: an interrupt while it is let go must not leave a snapshot nobody knows
            with self.store.lock_for(cid):
                disk = self.require(cid)
                self.store.ensure_dir(SNAPSHOTS)
                with self._quiesced(self.attached_to(disk)):
                    disk.copy_to(snap)
                snap.write_record(cid, metadata)
        except Exception as exc:
            snap.remove()
            raise CloudError(f"Snapshotting disk '{cid}'") from exc
        log.info("snapshot_disk %s -> %s", cid, snap.cid)
        return snap.cid

    def delete_snapshot(self, snap: SnapshotCid) -> None:
        """Idempotent: an unknown snapshot is already deleted (orphan cleanup must converge)."""
        self.store.snapshot(snap).remove()
        log.info("delete_snapshot %s", snap)

    # --- attachment records ------------------------------------------------------------------

    def attached_to(self, disk: Disk) -> VmCid | None:
        """The existing VM whose .vmx still uses this disk, according to the disk's record."""
        vm = disk.recorded_vm()
        if vm is not None and self.store.vm(vm).uses(disk.vmdk):
            return vm
        return None  # a stale record (the VM or its reference is gone)

    def require(self, cid: DiskCid) -> Disk:
        disk = self.store.disk(cid)
        if not disk.exists():
            raise DiskNotFound(f"Could not find disk with id '{cid}'")
        return disk

    def _grow(self, disk: Disk, size_mb: int) -> None:
        if self.vdiskmanager is not None:
            self.vdiskmanager.grow(disk.vmdk, size_mb)
        else:
            disk.grow(size_mb)

    def _quiesced(self, vm: VmCid | None) -> AbstractContextManager[None]:
        from cpi.power import paused

        vmx = self.store.vm(vm).vmx if vm is not None else None
        return paused(self.vmrun, vmx)
