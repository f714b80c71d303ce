"""Orphans in a CPI store: what an interrupted or crashed CPI call left behind.

Finding is read-only and returns typed ``Orphan`` findings: directories named
for a CID but without their .vmx (an interrupted create or import), ``*.tmp-*``
files of interrupted atomic writes, disk and snapshot files without their JSON
record (or records without their file), lock files of CIDs that no longer
exist, stemcells marked deleted whose last linked clone is gone, and names no
CID can own. Removing one takes the lock of the CID its name claims (the lock
every CPI call on that resource holds) and checks again under it, so it never
races a call that holds the lock. Stemcell imports in local mode and disk
creations do not hold a lock while they write, so removal is meant for a store
no CPI call is using.

The image cache of SSH mode (``.images``, see ``cpi.images``) is judged by
``cpi.images``' own names and rules: a copy no stemcell was cloned from, and an
import's staging directory, are orphans only while no import holds the image's
lock. That lock is tried without waiting (an import lasts as long as an upload):
held, the entry is skipped when finding and kept when removing. Trying it is the
one thing finding does besides reading (it may create the lock's file).

The layout itself is ``cpi.store``'s; this module must never remove anything a
live stemcell, VM, disk or snapshot owns, and never runs vmrun.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cpi.ids import Cid, DiskCid, SnapshotCid, StemcellCid, VmCid
from cpi.images import DIGEST, IMAGES, STAGING, digests_in_use, lock_name
from cpi.stemcells import Stemcells
from cpi.store import DISKS, LOCKS, PAIRED, SNAPSHOTS, Store, vmdk_cid
from toolkit.errors import LockTimeout

log = logging.getLogger(__name__)

Unregister = Callable[[str], None]  # powers a VM off and unregisters it from VMware, given its .vmx

# The runners write ``<path>.tmp-<8 hex>`` and rename it over ``<path>`` (LocalRunner, SFTP).
TEMP_NAME = re.compile(r"(?P<target>.+)\.tmp-[0-9a-f]{8}")
LOCK_SUFFIX = ".lock"
# VMware keeps "<disk>.vmdk.lck" directories next to a disk while a VM has it open.
VMWARE_LOCK_SUFFIX = ".lck"
DIRECTORY_KINDS: tuple[type[Cid], ...] = (VmCid, StemcellCid)
ALL_KINDS: tuple[type[Cid], ...] = (*DIRECTORY_KINDS, DiskCid, SnapshotCid)


class OrphanKind(str, enum.Enum):
    FOREIGN = "foreign"
    HALF_CREATED = "half-created"
    TEMP_FILE = "temp-file"
    DISK_WITHOUT_RECORD = "disk-without-record"
    RECORD_WITHOUT_DISK = "record-without-disk"
    STALE_LOCK = "stale-lock"
    DELETED_STEMCELL = "deleted-stemcell"
    UNUSED_IMAGE = "unused-image"
    INTERRUPTED_IMPORT = "interrupted-import"
    UNFINISHED_VM = "unfinished-vm"


REASONS: dict[OrphanKind, str] = {
    OrphanKind.FOREIGN: "no CID owns this name",
    OrphanKind.HALF_CREATED: "no .vmx: an interrupted create or import",
    OrphanKind.TEMP_FILE: "left by an interrupted write",
    OrphanKind.DISK_WITHOUT_RECORD: "its .json record is missing and no VM uses it",
    OrphanKind.RECORD_WITHOUT_DISK: "its .vmdk is missing",
    OrphanKind.STALE_LOCK: "the lock of a resource that no longer exists",
    OrphanKind.DELETED_STEMCELL: "deleted by BOSH and no linked clone uses it any more",
    OrphanKind.UNUSED_IMAGE: "no stemcell uses this image",
    OrphanKind.INTERRUPTED_IMPORT: "left by an interrupted image import",
    OrphanKind.UNFINISHED_VM: "create_vm was killed before it answered (the VM may still run)",
}
IMAGE_KINDS = frozenset({OrphanKind.UNUSED_IMAGE, OrphanKind.INTERRUPTED_IMPORT})


@dataclass(frozen=True, slots=True)
class Orphan:
    kind: OrphanKind
    path: str
    owner: Cid | None = None  # the CID its name claims: locked before removal

    @property
    def why(self) -> str:
        return REASONS[self.kind]


def find_orphans(store: Store, *, held: Cid | None = None) -> list[Orphan]:
    """Everything in ``store`` that no live resource owns, in a stable order (``held``: a lock the caller holds)."""
    found = list(_top_level(store, held))
    found += _images(store, _importing)
    for folder, kind in PAIRED.items():
        found += _unpaired(store, folder, kind)
    found += _stale_locks(store)
    return found


def remove_orphan(store: Store, orphan: Orphan, *, unregister: Unregister | None = None) -> bool:
    """Remove ``orphan`` if it still is one (checked under its owner's lock); ``True`` if removed.

    An unfinished VM is first powered off and unregistered through ``unregister``
    (this module never runs vmrun); without it, the VM is kept.
    """
    if orphan.kind is OrphanKind.UNFINISHED_VM and unregister is None:
        log.info("%s: powering it off needs vmrun: kept", orphan.path)
        return False
    if orphan.kind is OrphanKind.DELETED_STEMCELL and isinstance(orphan.owner, StemcellCid):
        Stemcells(store).collect(orphan.owner)  # the CPI's own removal, under the stemcell's lock
        return not store.runner.exists(orphan.path)
    if orphan.kind in IMAGE_KINDS:
        return _remove_image(store, orphan)
    if orphan.owner is None:
        _remove_path(store, orphan.path)
        return True
    with store.lock_for(orphan.owner):
        if orphan not in find_orphans(store, held=orphan.owner):
            log.info("%s is no longer an orphan: kept", orphan.path)
            return False
        if orphan.kind is OrphanKind.UNFINISHED_VM and unregister is not None and isinstance(orphan.owner, VmCid):
            unregister(store.vm_vmx(orphan.owner))
        _remove_path(store, orphan.path)  # lock_for then removes the owner's lock if nothing of it is left
    return True


def _remove_image(store: Store, orphan: Orphan) -> bool:
    """Under the image's import lock, taken without waiting: an import under way keeps it."""
    digest = _digest_of(store.runner.path.basename(orphan.path))
    if digest is None:  # not a name find_orphans gives an image orphan
        return False
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(_no_wait(store).lock(lock_name(digest)))
        except LockTimeout:
            log.info("%s: an import of this image is under way: kept", orphan.path)
            return False
        if orphan not in list(_images(store, _never)):
            log.info("%s is no longer an orphan: kept", orphan.path)
            return False
        _remove_path(store, orphan.path)
    return True


# --- finding ------------------------------------------------------------------------------


def _top_level(store: Store, held: Cid | None) -> Iterator[Orphan]:
    for name in _entries(store, store.root):
        if name in (DISKS, SNAPSHOTS, LOCKS, IMAGES):
            continue
        cid = cid_of(name, DIRECTORY_KINDS)
        if cid is None:
            yield Orphan(OrphanKind.FOREIGN, store.join(name))
        elif not store.runner.exists(store.join(name, name + ".vmx")):
            yield Orphan(OrphanKind.HALF_CREATED, store.join(name), cid)
        elif isinstance(cid, VmCid) and _unfinished(store, cid, held):
            yield Orphan(OrphanKind.UNFINISHED_VM, store.join(name), cid)
        else:
            yield from _inside(store, cid)


def _unfinished(store: Store, cid: VmCid, held: Cid | None) -> bool:
    """A VM create_vm left without answering: still marked as being created, and no call holds it."""
    if not store.vm(cid).creating():
        return False
    return cid == held or not _locked(store, cid)


def _locked(store: Store, cid: Cid) -> bool:
    """Whether a call holds ``cid``'s lock now (tried, and let go at once)."""
    try:
        with _no_wait(store).lock_for(cid):
            return False
    except LockTimeout:
        return True


def _inside(store: Store, cid: Cid) -> Iterator[Orphan]:
    """In a live VM or stemcell directory: interrupted writes, and a deleted unused stemcell."""
    for name in _entries(store, store.join(cid.name)):
        if TEMP_NAME.fullmatch(name):
            yield Orphan(OrphanKind.TEMP_FILE, store.join(cid.name, name), cid)
    if isinstance(cid, StemcellCid) and _unused_deleted(store, cid):
        yield Orphan(OrphanKind.DELETED_STEMCELL, store.join(cid.name), cid)


def _images(store: Store, importing: Callable[[Store, str], bool]) -> Iterator[Orphan]:
    """In the image cache: copies no stemcell was cloned from, and staging directories,
    unless ``importing`` says an import of that image holds its lock."""
    names = sorted(_entries(store, store.join(IMAGES)))
    in_use = digests_in_use(store) if names else set()
    for name in names:
        path, digest, staged = store.join(IMAGES, name), _digest_of(name), STAGING.fullmatch(name) is not None
        if digest is None:
            yield Orphan(OrphanKind.FOREIGN, path)
        elif (digest in in_use and not staged) or importing(store, digest):
            continue
        else:
            yield Orphan(OrphanKind.INTERRUPTED_IMPORT if staged else OrphanKind.UNUSED_IMAGE, path)


def _digest_of(name: str) -> str | None:
    """The image an entry of ``.images`` belongs to: its own name, or the one it is staged for."""
    staged = STAGING.fullmatch(name)
    if staged:
        return staged["digest"]
    return name if DIGEST.fullmatch(name) else None


def _importing(store: Store, digest: str) -> bool:
    """Whether an import of ``digest`` holds its lock now (tried, and let go at once)."""
    try:
        with _no_wait(store).lock(lock_name(digest)):
            return False
    except LockTimeout:
        return True


def _never(store: Store, digest: str) -> bool:
    return False  # checking again under the lock, held by the caller


def _no_wait(store: Store) -> Store:
    return Store(store.runner, store.root, lock_timeout=0.0)


def _unused_deleted(store: Store, cid: StemcellCid) -> bool:
    return store.stemcell(cid).marked_deleted() and not Stemcells(store).users(cid)


def _unpaired(store: Store, folder: str, kind: type[Cid]) -> Iterator[Orphan]:
    names = set(_entries(store, store.join(folder)))
    for name in sorted(names):
        if name.endswith(VMWARE_LOCK_SUFFIX):
            yield from _vmware_lock(store, folder, name, names, kind)
            continue
        temp = TEMP_NAME.fullmatch(name)
        stem, _, ext = (temp["target"] if temp else name).rpartition(".")
        cid = kind.from_name(stem) if ext in ("vmdk", "json") else None
        path = store.join(folder, name)
        if cid is None:
            yield Orphan(OrphanKind.FOREIGN, path)
        elif temp:
            yield Orphan(OrphanKind.TEMP_FILE, path, cid)
        elif ext == "json" and f"{stem}.vmdk" not in names:
            yield Orphan(OrphanKind.RECORD_WITHOUT_DISK, path, cid)
        elif ext == "vmdk" and f"{stem}.json" not in names and not _used_by_a_vm(store, path):
            yield Orphan(OrphanKind.DISK_WITHOUT_RECORD, path, cid)


def _vmware_lock(store: Store, folder: str, name: str, names: set[str], kind: type[Cid]) -> Iterator[Orphan]:
    """VMware's lock of a disk is the disk's while the disk is there; then it is stale."""
    disk = name[: -len(VMWARE_LOCK_SUFFIX)]
    cid = vmdk_cid(disk, kind)
    if cid is None:
        yield Orphan(OrphanKind.FOREIGN, store.join(folder, name))
    elif disk not in names:
        yield Orphan(OrphanKind.STALE_LOCK, store.join(folder, name), cid)


def _used_by_a_vm(store: Store, disk_path: str) -> bool:
    """Whether some VM's .vmx names this disk (its record may be lost, the attachment is not)."""
    needle = disk_path.encode("utf-8")
    return any(needle in _read(store, store.vm_vmx(vm)) for vm in store.vm_cids())


def _stale_locks(store: Store) -> Iterator[Orphan]:
    for name in _entries(store, store.join(LOCKS)):
        cid = cid_of(name[: -len(LOCK_SUFFIX)], ALL_KINDS) if name.endswith(LOCK_SUFFIX) else None
        # Other lock names (e.g. "macs") guard shared state, not one resource: never stale.
        if cid is not None and not store.exists(cid):
            yield Orphan(OrphanKind.STALE_LOCK, store.join(LOCKS, name), cid)


def cid_of(name: str, kinds: tuple[type[Cid], ...]) -> Cid | None:
    """The CID a store entry's name claims, if it is a valid one of ``kinds``."""
    # No prefix starts another, so at most one kind can claim a name.
    return next((cid for kind in kinds if (cid := kind.from_name(name)) is not None), None)


# --- runner helpers -----------------------------------------------------------------------


def _entries(store: Store, path: str) -> list[str]:
    return store.runner.list_dir(path) if store.runner.is_dir(path) else []


def _read(store: Store, path: str) -> bytes:
    return store.runner.read_bytes(path) if store.runner.exists(path) else b""


def _remove_path(store: Store, path: str) -> None:
    if store.runner.is_dir(path):
        store.runner.remove_tree(path)
    else:
        store.runner.remove(path)
