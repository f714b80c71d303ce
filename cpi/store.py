"""The CPI's on-disk layout under ``vm_store_path``, reached only through a Runner.

    <vm_store_path>/
      cs-<uuid>/cs-<uuid>.vmx        imported stemcell (template VM, never powered on)
      cs-<uuid>/*.vmdk               its disk
      cs-<uuid>/stemcell.json        stemcell cloud properties (name, version, ...)
      cs-<uuid>/deleted              marker: delete_stemcell came while linked clones still use it
      cs-<uuid>/image.sha256         SSH mode: the cached image it was cloned from (cpi.images)
      vm-<uuid>/vm-<uuid>.vmx        a VM (linked clone) and EVERYTHING it owns:
      vm-<uuid>/env.json             agent settings, the source of truth (0600)
      vm-<uuid>/env.iso              the same settings on the CD-ROM image (0600)
      vm-<uuid>/ephemeral.vmdk       ephemeral disk (when cloud_properties.disk > 0)
      vm-<uuid>/macs.json            the NIC MACs reserved for this VM (freed with the dir)
      vm-<uuid>/stemcell             the CID of the stemcell it was cloned from
      vm-<uuid>/metadata.json        set_vm_metadata
      vm-<uuid>/restart-pending      marker: a cold edit stopped the VM and has not started it again
      vm-<uuid>/creating             marker: create_vm is under way (left only by a killed create_vm)
      disks/disk-<uuid>.vmdk         persistent disk (monolithicSparse)
      disks/disk-<uuid>.json         its metadata and the VM it is attached to
      snapshots/snapshot-<uuid>.vmdk point-in-time copy of a disk (+ .json: source disk, metadata)
      .images/<sha256>/              SSH mode: an uploaded image, kept while a stemcell names it (cpi.images)
      .locks/<name>.lock             cross-process locks (released by the OS if a holder dies)

CIDs are bare UUIDs; the prefixes make every entry's owner obvious, so anything
no CID owns can be found and collected. Files are written atomically
(``runner.write_bytes``). The store hands out one handle per resource
(``vm``, ``disk``, ``snapshot``, ``stemcell``: ``cpi.vm``, ``cpi.disk``,
``cpi.stemcell``) that owns that resource's files and edits; it keeps the
layout, the listings and the locks itself. It never runs vmrun and never
parses a .vmx.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TypeVar

from cpi.disk import VMDK, Disk, Snapshot
from cpi.ids import Cid, DiskCid, SnapshotCid, StemcellCid, VmCid
from cpi.stemcell import Stemcell
from cpi.vm import Vm
from toolkit.errors import HostFileNotFound, ToolkitError
from toolkit.host.runner import Runner

log = logging.getLogger(__name__)

DISKS = "disks"
SNAPSHOTS = "snapshots"
LOCKS = ".locks"
# The folders whose entries are a .vmdk and its .json record, and the kind of CID they are named for.
PAIRED: dict[str, type[Cid]] = {DISKS: DiskCid, SNAPSHOTS: SnapshotCid}

C = TypeVar("C", bound=Cid)


class Store:
    def __init__(self, runner: Runner, root: str, *, lock_timeout: float) -> None:
        self.runner = runner
        self.root = root
        self.lock_timeout = lock_timeout

    def join(self, *parts: str) -> str:
        return str(self.runner.path.join(self.root, *parts))

    # --- resources -----------------------------------------------------------------------

    def vm(self, cid: VmCid) -> Vm:
        return Vm(self.runner, self.join(cid.name), cid)

    def stemcell(self, cid: StemcellCid) -> Stemcell:
        return Stemcell(self.runner, self.join(cid.name), cid)

    def disk(self, cid: DiskCid) -> Disk:
        return Disk(self.runner, self.join(DISKS), cid)

    def snapshot(self, cid: SnapshotCid) -> Snapshot:
        return Snapshot(self.runner, self.join(SNAPSHOTS), cid)

    def vm_dir(self, cid: VmCid) -> str:
        return self.vm(cid).directory

    def vm_vmx(self, cid: VmCid) -> str:
        return self.vm(cid).vmx

    def stemcell_dir(self, cid: StemcellCid) -> str:
        return self.stemcell(cid).directory

    def vm_cids(self) -> list[VmCid]:
        return self._directory_cids(VmCid)

    def stemcell_cids(self) -> list[StemcellCid]:
        return self._directory_cids(StemcellCid)

    # --- disks and snapshots -----------------------------------------------------------

    @property
    def disks_dir(self) -> str:
        return self.join(DISKS)

    def disk_cid_of(self, path: str) -> DiskCid | None:
        """The disk a .vmx ``fileName`` refers to, if it is one of this store's disks."""
        if self.runner.path.dirname(path) != self.disks_dir:
            return None
        return vmdk_cid(self.runner.path.basename(path), DiskCid)

    def recorded_files(self) -> list[tuple[Cid, str]]:
        """Disks, then snapshots, that have both their .vmdk and their .json record; each with its .vmdk's path."""
        return [found for folder, kind in PAIRED.items() for found in self._recorded(folder, kind)]

    def ensure_dir(self, *parts: str) -> str:
        path = self.join(*parts)
        self.runner.mkdir(path)
        return path

    # --- locks -------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """A cross-process lock named e.g. ``vm-<uuid>``, one file per name (kept where the runner keeps locks)."""
        with self.runner.lock(self.lock_path(name), timeout=self.lock_timeout):
            yield

    def lock_path(self, name: str) -> str:
        return self.join(LOCKS, name + ".lock")

    @contextlib.contextmanager
    def lock_for(self, cid: Cid) -> Iterator[None]:
        """The lock of one resource; on the way out its file goes if the resource does not exist.

        Otherwise every call on a CID that does not exist (BOSH's idempotent
        deletes, orphan reconciliation) or on one it deletes would leave a lock
        file for ever. Safe as ``forget_lock`` is: checked and removed while held.
        """
        with self.lock(cid.name):
            try:
                yield
            finally:
                self._forget_lock_if_gone(cid)

    def forget_lock(self, cid: Cid) -> None:
        """Remove the lock file of a resource that does not exist (called while holding it).

        Safe only because CIDs are never reused (fresh UUIDs): a resource that is
        gone, or never was, cannot appear again under this name. A process already
        waiting on the old file may then get it while a newcomer locks a fresh one;
        both find the resource absent, so neither can do anything the other undoes.
        """
        self.runner.forget_lock(self.lock_path(cid.name))

    def exists(self, cid: Cid) -> bool:
        """Whether anything of the resource is left: its directory, or its disk file or record."""
        if isinstance(cid, DiskCid):
            return self.disk(cid).anything_left()
        if isinstance(cid, SnapshotCid):
            return self.snapshot(cid).anything_left()
        return self.runner.exists(self.join(cid.name))

    def _forget_lock_if_gone(self, cid: Cid) -> None:
        try:
            if not self.exists(cid):
                self.forget_lock(cid)
        except ToolkitError as exc:  # never hide the call's own outcome; `vmtk store gc` sweeps it later
            log.warning("could not tidy the lock of %s: %s", cid, exc)

    def _recorded(self, folder: str, kind: type[Cid]) -> list[tuple[Cid, str]]:
        path = self.join(folder)
        names = set(self.runner.list_dir(path)) if self.runner.is_dir(path) else set()
        claimed = ((c, n) for n in names if (c := vmdk_cid(n, kind)) is not None and c.name + ".json" in names)
        return [(c, self.join(folder, n)) for c, n in sorted(claimed, key=lambda found: found[0].name)]

    def _directory_cids(self, kind: type[C]) -> list[C]:
        return [c for n in self._entries() if (c := kind.from_name(n)) is not None]

    def _entries(self) -> list[str]:
        try:
            return self.runner.list_dir(self.root)
        except HostFileNotFound:
            return []


def vmdk_cid(name: str, kind: type[C]) -> C | None:
    """The CID a ``<cid.name>.vmdk`` file name claims, if it is a valid one of ``kind``."""
    return kind.from_name(name[: -len(VMDK)]) if name.endswith(VMDK) else None
