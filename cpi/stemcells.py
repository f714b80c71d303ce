"""Stemcells: import the ``image`` BOSH hands over as a template VM, and delete it safely.

A stemcell is ``cs-<uuid>/cs-<uuid>.vmx`` plus its disk, never powered on; VMs
are linked clones of it. Deleting the template would break every clone (their
delta disks name its disk as parent), so ``delete`` leaves a ``deleted`` marker
while any VM still uses it and ``collect`` (called by delete_vm) removes it
with its last clone. Clones and deletion of one stemcell serialize on its lock.
Importing without ovftool costs no external program run. On a remote host
(SSH) the template is a full clone of the image's copy kept by ``cpi.images``.
The template's files are the ``Stemcell`` handle's (``cpi.stemcell``); this
module decides when it may go. It never starts or stops VMs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cpi.errors import CloudError
from cpi.ids import StemcellCid, VmCid
from cpi.stemcell import Stemcell
from cpi.store import Store
from toolkit.errors import ToolkitError

if TYPE_CHECKING:
    from cpi.images import ImageCache
    from toolkit.vmware.ovftool import Ovftool

log = logging.getLogger(__name__)


class StemcellMissing(CloudError):
    """The stemcell a VM should be cloned from is not (or no longer) there."""


class Stemcells:
    def __init__(self, store: Store, *, ovftool: Ovftool | None = None, images: ImageCache | None = None) -> None:
        self.store = store
        self.ovftool = ovftool
        self.images = images  # a remote host: images imported once per content hash

    def create(self, image_path: str, cloud_properties: dict[str, Any]) -> StemcellCid:
        stemcell = self.store.stemcell(StemcellCid.new())
        try:
            if self.images is not None:
                self.images.make_template(image_path, stemcell)
            else:
                stemcell.import_image(image_path, ovftool=self.ovftool)
            stemcell.write_properties(cloud_properties)
        except Exception as exc:
            self._discard(stemcell)  # no half-imported template
            raise CloudError(f"Importing stemcell image '{image_path}'") from exc
        log.info("create_stemcell %s -> %s", image_path, stemcell.cid)
        return stemcell.cid

    def _discard(self, stemcell: Stemcell) -> None:
        try:
            stemcell.remove()
        except ToolkitError:  # e.g. the host is unreachable: the import's own error matters more
            log.warning("could not remove %s after a failed create_stemcell", stemcell.directory, exc_info=True)

    def template(self, cid: StemcellCid) -> Stemcell:
        """The stemcell to clone from; ``StemcellMissing`` if it is gone or being deleted."""
        stemcell = self.store.stemcell(cid)
        if not stemcell.usable():
            raise StemcellMissing(f"Stemcell '{cid}' not found")
        return stemcell

    def delete(self, cid: StemcellCid) -> None:
        """Remove the template, or mark it when linked clones still use it; unknown CID is fine."""
        stemcell = self.store.stemcell(cid)
        with self.store.lock_for(cid):
            if not stemcell.exists():
                log.info("delete_stemcell %s: not found, nothing to do", cid)
                return
            users = self.users(cid)
            if users:
                stemcell.mark_deleted()
                log.info("delete_stemcell %s: kept for %d linked clone(s), marked deleted", cid, len(users))
                return
            self._remove(stemcell)

    def collect(self, cid: StemcellCid) -> None:
        """After a VM is gone: remove its stemcell if it was deleted and has no users left."""
        stemcell = self.store.stemcell(cid)
        with self.store.lock_for(cid):
            if stemcell.marked_deleted() and not self.users(cid):
                self._remove(stemcell)

    def users(self, cid: StemcellCid) -> list[VmCid]:
        """VMs that are linked clones of this stemcell."""
        stemcell = self.store.stemcell(cid)
        return [vm for vm in self.store.vm_cids() if stemcell.is_template_of(self.store.vm(vm))]

    def _remove(self, stemcell: Stemcell) -> None:
        image = stemcell.image() if self.images is not None else None
        stemcell.remove()  # called under lock_for: its lock goes too
        log.info("delete_stemcell %s: removed", stemcell.cid)
        if self.images is not None:
            self.images.release(image)
