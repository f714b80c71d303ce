"""One imported stemcell of the store, ``cs-<uuid>/``: the handle that owns its template's files.

A ``Stemcell`` (from ``Store.stemcell``) knows its template .vmx, the
``deleted`` marker (left by delete_stemcell while linked clones still use it),
its cloud properties, the cached image it was cloned from (SSH mode, see
``cpi.images``), and the snapshot vmrun made for linked clones. It imports an
image into its directory and removes the directory. This module never starts or
stops a VM, never takes locks and does not decide when a template may go
(``cpi.stemcells`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi import records
from cpi.ids import StemcellCid
from cpi.vm import Vm
from toolkit import errors as tk
from toolkit.host.runner import Runner
from toolkit.vmware.vmx import Vmx

if TYPE_CHECKING:
    from toolkit.vmware.ovftool import Ovftool

DELETED_MARKER = "deleted"
PROPERTIES = "stemcell.json"
IMAGE_REF = "image.sha256"  # SSH mode: the cached image it was cloned from (cpi.images)


class Stemcell:
    def __init__(self, runner: Runner, directory: str, cid: StemcellCid) -> None:
        self.runner, self.directory, self.cid = runner, directory, cid
        self.vmx = self.file(cid.name + ".vmx")

    def __repr__(self) -> str:
        return f"Stemcell({self.cid}, {self.vmx!r})"

    def file(self, name: str) -> str:
        return str(self.runner.path.join(self.directory, name))

    def exists(self) -> bool:
        return self.runner.exists(self.directory)

    def usable(self) -> bool:
        """Whether VMs may be cloned from it: its template is there and it is not marked deleted."""
        return self.runner.exists(self.vmx) and not self.marked_deleted()

    def marked_deleted(self) -> bool:
        return self.runner.exists(self.file(DELETED_MARKER))

    def mark_deleted(self) -> None:
        self.runner.write_bytes(self.file(DELETED_MARKER), b"")

    def import_image(self, image_path: str, *, ovftool: Ovftool | None) -> None:
        """Import a stemcell image (tarball, OVF or VMDK on the runner's host) as the template."""
        from toolkit.formats.stemcell import import_image  # tar/OVF/VMDK machinery: only when importing

        self.runner.mkdir(self.directory)
        import_image(self.runner, image_path, self.vmx, name=self.cid.name, ovftool=ovftool)

    def write_properties(self, cloud_properties: dict[str, Any]) -> None:
        records.write_json(self.runner, self.file(PROPERTIES), cloud_properties, mode=0o644)

    def record_image(self, digest: str) -> None:
        self.runner.write_bytes(self.file(IMAGE_REF), digest.encode())

    def image(self) -> str | None:
        """The digest of the cached image it was cloned from; ``None`` if not made from one."""
        try:
            return self.runner.read_bytes(self.file(IMAGE_REF)).decode().strip()
        except (tk.HostFileNotFound, UnicodeDecodeError):
            return None

    def clone_snapshot(self) -> str | None:
        """The template's snapshot to clone from: vmrun's own "Clone" snapshot after the first clone.

        A linked clone without ``-snapshot`` makes vmrun snapshot the source. Later
        clones name that snapshot. Whether VMware would instead refuse an unnamed clone
        of an unchanged source ("The state of the virtual machine has not changed since
        the last snapshot operation", a real message whose trigger is not captured) is
        unknown: the reference CPI clones one stemcell 20 times without ``-snapshot`` on
        real VMware (its driver_test.go), which says it would not. Naming the snapshot
        is harmless either way: cloning from a named snapshot taken powered off is
        vmrun's documented form, and a template is never powered on. It also spares a
        write of the template's .vmsd per clone.
        """
        vmsd = self.vmx[: -len(".vmx")] + ".vmsd"
        try:
            config = Vmx.parse(self.runner.read_bytes(vmsd), source=vmsd)
        except tk.HostFileNotFound:
            return None
        names = [
            v for k, v in config.items() if k.lower().startswith("snapshot") and k.lower().endswith(".displayname")
        ]
        return names[0] if names else None

    def is_template_of(self, vm: Vm) -> bool:
        """A linked clone: recorded at clone time, or (after a crash before that) its .vmsd's
        ``cloneOf0`` names the template. A full copy (Player) needs no template."""
        return vm.stemcell() == self.cid or self.directory.encode() in vm.vmsd()

    def remove(self) -> None:
        self.runner.remove_tree(self.directory)
