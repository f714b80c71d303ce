"""Stemcell images on a remote VMware host (SSH mode): imported once per content hash.

The image BOSH hands to create_stemcell is a file on the director; the host is
across an SSH connection. Its SHA-256 (computed locally) names an imported copy
on the host, ``<vm_store_path>/.images/<sha256>/image.vmx`` and its disks, and
every stemcell made from that image is a full clone of it done by vmrun on the
host: a second create_stemcell of the same image sends no image bytes at all.

An import runs in ``.images/<sha256>.tmp-<random>/`` and is renamed into place
only once complete, so an import cut off by a dropped connection never counts;
the next import of the same image removes such leftovers (it holds the image's
lock, so they cannot belong to a live import) and redoes it. The copy goes when
the last stemcell made from it is deleted. Player cannot clone: there each
stemcell is imported directly, as in local mode. This module never starts VMs
and is not used when the host is local. Its names (``DIGEST``, ``STAGING``,
``lock_name``) and ``digests_in_use`` are also how ``cpi.orphans`` tells a
copy in use, or an import under way, from an orphan.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING

from cpi.stemcell import Stemcell
from cpi.store import Store
from toolkit.errors import HostFileNotFound
from toolkit.host.digest import sha256_of
from toolkit.host.runner import LocalRunner, Runner
from toolkit.vmware.vmrun import CloneKind, HostType, Vmrun

if TYPE_CHECKING:
    from toolkit.vmware.ovftool import Ovftool

log = logging.getLogger(__name__)

IMAGES = ".images"
IMAGE_VMX = "image.vmx"
DIGEST = re.compile(r"[0-9a-f]{64}")  # ``.images/<sha256>``: an imported image
STAGING = re.compile(r"(?P<digest>[0-9a-f]{64})\.tmp-[0-9a-f]{8}")  # an import under way (or cut off)


class ImageCache:
    def __init__(
        self, store: Store, vmrun: Vmrun, *, ovftool: Ovftool | None = None, local: Runner | None = None
    ) -> None:
        self.store, self.vmrun, self.ovftool = store, vmrun, ovftool
        self.local = local or LocalRunner()  # where the image is: the director's own disk

    def make_template(self, image_path: str, stemcell: Stemcell) -> None:
        """Make ``stemcell``'s template from the local ``image_path``."""
        if self.vmrun.host_type is HostType.PLAYER:
            stemcell.import_image(image_path, ovftool=self.ovftool)
            return
        digest = self.digest(image_path)
        with self.store.lock(lock_name(digest)):
            source = self._imported(image_path, digest)
            self.vmrun.clone(source, stemcell.vmx, CloneKind.FULL, name=stemcell.cid.name)
            stemcell.record_image(digest)
        log.info("stemcell %s cloned from image %s", stemcell.cid, digest)

    def digest(self, image_path: str) -> str:
        return sha256_of(self.local, image_path)  # the image is on this machine, not the host

    def release(self, digest: str | None) -> None:
        """After a stemcell is gone: remove its image's copy unless another stemcell came from it."""
        if digest is None:
            return
        with self.store.lock(lock_name(digest)):
            if digest in digests_in_use(self.store):
                return
            self.store.runner.remove_tree(self.store.join(IMAGES, digest))
            log.info("image %s: no stemcell uses it any more, removed from the host", digest)
        self.store.runner.forget_lock(self.store.lock_path(lock_name(digest)))

    def _imported(self, image_path: str, digest: str) -> str:
        runner, final = self.store.runner, self.store.join(IMAGES, digest)
        if runner.exists(runner.path.join(final, IMAGE_VMX)):
            log.info("image %s is already on the host: nothing to upload", digest)
            return str(runner.path.join(final, IMAGE_VMX))
        self._sweep(digest)
        staging = self.store.ensure_dir(IMAGES, f"{digest}.tmp-{uuid.uuid4().hex[:8]}")  # see STAGING
        try:
            _import(runner, image_path, runner.path.join(staging, IMAGE_VMX), "image-" + digest[:12], self.ovftool)
            runner.rename(staging, final)
        except BaseException:
            runner.remove_tree(staging)
            raise
        return str(runner.path.join(final, IMAGE_VMX))

    def _sweep(self, digest: str) -> None:
        """Remove what imports of this image cut off by a dropped connection left."""
        try:
            names = self.store.runner.list_dir(self.store.join(IMAGES))
        except HostFileNotFound:
            return
        for name in names:
            staged = STAGING.fullmatch(name)
            if staged and staged["digest"] == digest:
                log.info("removing %s, left by an interrupted import", name)
                self.store.runner.remove_tree(self.store.join(IMAGES, name))


def lock_name(digest: str) -> str:
    """The store lock an import of ``digest`` (and the removal of its copy) holds throughout."""
    return f"image-{digest[:32]}"


def digests_in_use(store: Store) -> set[str]:
    """The images some stemcell in ``store`` was cloned from: their copies must stay."""
    return {digest for cid in store.stemcell_cids() if (digest := store.stemcell(cid).image()) is not None}


def _import(runner: Runner, image_path: str, vmx: str, name: str, ovftool: Ovftool | None) -> None:
    from toolkit.formats.stemcell import import_image  # tar/OVF/VMDK machinery: only when importing

    import_image(runner, image_path, vmx, name=name, ovftool=ovftool)
