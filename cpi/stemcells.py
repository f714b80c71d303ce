"""Stemcells: import the ``image`` BOSH hands over as a template VM, and delete it safely.

A stemcell is ``cs-<uuid>/cs-<uuid>.vmx`` plus its disk, never powered on; VMs
are linked clones of it. Deleting the template would break every clone (their
delta disks name its disk as parent), so ``delete`` leaves a ``deleted`` marker
while any VM still uses it and ``collect`` (called by delete_vm) removes it
with its last clone. Clones and deletion of one stemcell serialize on its lock.
Importing without ovftool costs no external program run. On a remote host
(SSH) the template is a full clone of the image's copy kept by ``cpi.images``.
This module never starts or stops VMs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cpi.errors import CloudError, CpiFailure
from cpi.ids import StemcellCid, VmCid
from cpi.store import Store
from toolkit.errors import HostFileNotFound, ToolkitError

if TYPE_CHECKING:
    from cpi.images import ImageCache
    from toolkit.vmware.ovftool import Ovftool

log = logging.getLogger(__name__)

STEMCELL_JSON = "stemcell.json"
VM_STEMCELL_REF = "stemcell"


class StemcellMissing(CloudError):
    """The stemcell a VM should be cloned from is not (or no longer) there."""


class Stemcells:
    def __init__(self, store: Store, *, ovftool: Ovftool | None = None, images: ImageCache | None = None) -> None:
        self.store = store
        self.ovftool = ovftool
        self.images = images  # a remote host: images imported once per content hash

    def create(self, image_path: str, cloud_properties: dict[str, Any]) -> StemcellCid:
        cid = StemcellCid.new()
        directory = self.store.stemcell_dir(cid)
        try:
            if self.images is not None:
                self.images.make_template(image_path, cid)
            else:
                self._import(image_path, cid)
            self.store.write_json(self.store.join(cid.name, STEMCELL_JSON), cloud_properties, mode=0o644)
        except Exception as exc:
            self._discard(directory)  # no half-imported template
            raise CloudError(f"Importing stemcell image '{image_path}'") from exc
        log.info("create_stemcell %s -> %s", image_path, cid)
        return cid

    def _import(self, image_path: str, cid: StemcellCid) -> None:
        from toolkit.formats.stemcell import import_image  # tar/OVF/VMDK machinery: only when importing

        self.store.runner.mkdir(self.store.stemcell_dir(cid))
        import_image(self.store.runner, image_path, self.store.stemcell_vmx(cid), name=cid.name, ovftool=self.ovftool)

    def _discard(self, directory: str) -> None:
        try:
            self.store.runner.remove_tree(directory)
        except ToolkitError:  # e.g. the host is unreachable: the import's own error matters more
            log.warning("could not remove %s after a failed create_stemcell", directory, exc_info=True)

    def template(self, cid: StemcellCid) -> str:
        """The template's .vmx; ``StemcellMissing`` if it is gone or being deleted."""
        vmx = self.store.stemcell_vmx(cid)
        if not self.store.runner.exists(vmx) or self.store.runner.exists(self.store.stemcell_marker(cid)):
            raise StemcellMissing(f"Stemcell '{cid}' not found")
        return vmx

    def delete(self, cid: StemcellCid) -> None:
        """Remove the template, or mark it when linked clones still use it; unknown CID is fine."""
        with self.store.lock_for(cid):
            if not self.store.runner.exists(self.store.stemcell_dir(cid)):
                log.info("delete_stemcell %s: not found, nothing to do", cid)
                return
            users = self.users(cid)
            if users:
                self.store.runner.write_bytes(self.store.stemcell_marker(cid), b"")
                log.info("delete_stemcell %s: kept for %d linked clone(s), marked deleted", cid, len(users))
                return
            self._remove(cid)

    def collect(self, cid: StemcellCid) -> None:
        """After a VM is gone: remove its stemcell if it was deleted and has no users left."""
        with self.store.lock_for(cid):
            marked = self.store.runner.exists(self.store.stemcell_marker(cid))
            if marked and not self.users(cid):
                self._remove(cid)

    def users(self, cid: StemcellCid) -> list[VmCid]:
        """VMs that are linked clones of this stemcell."""
        return [vm for vm in self.store.vm_cids() if self._uses(vm, cid)]

    def record_clone(self, vm: VmCid, cid: StemcellCid) -> None:
        self.store.runner.write_bytes(self.store.vm_file(vm, VM_STEMCELL_REF), str(cid).encode())

    def stemcell_of(self, vm: VmCid) -> StemcellCid | None:
        try:
            return StemcellCid(self.store.runner.read_bytes(self.store.vm_file(vm, VM_STEMCELL_REF)).decode().strip())
        except (HostFileNotFound, UnicodeDecodeError, CpiFailure):
            return None  # no record, or a damaged one: unknown

    def _uses(self, vm: VmCid, cid: StemcellCid) -> bool:
        """A linked clone: recorded at clone time, or (after a crash before that) its .vmsd's
        ``cloneOf0`` names the template. A full copy (Player) needs no template."""
        if self.stemcell_of(vm) == cid:
            return True
        try:
            vmsd = self.store.runner.read_bytes(self.store.vm_file(vm, vm.name + ".vmsd"))
        except HostFileNotFound:
            return False
        return self.store.stemcell_dir(cid).encode() in vmsd

    def _remove(self, cid: StemcellCid) -> None:
        image = self.images.image_of(cid) if self.images is not None else None
        self.store.runner.remove_tree(self.store.stemcell_dir(cid))  # called under lock_for: its lock goes too
        log.info("delete_stemcell %s: removed", cid)
        if self.images is not None:
            self.images.release(image)
