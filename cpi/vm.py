"""One VM of the store, ``vm-<uuid>/``: the handle that owns its files and .vmx edits.

A ``Vm`` (from ``Store.vm``) knows where its .vmx and its other files are and
changes them through the Runner: hardware of a fresh clone, persistent disks
attached and detached, the display name, the ephemeral disk, the "restart
pending" marker, its metadata and the stemcell it was cloned from. VMware
rewrites a .vmx at power-off and drops edits made while the VM runs, so every
.vmx edit here is made by a caller that holds the VM off (``Vms.cold_edit``) or
has not started it yet; each one re-reads the file first. This module never
runs vmrun, never takes locks and never decides BOSH semantics (that a missing
VM is ``VmNotFound`` is the caller's word).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cpi import records, vmx_edit
from cpi.errors import CpiFailure
from cpi.ids import StemcellCid, VmCid
from cpi.vm_properties import NicSpec, VmProperties
from toolkit import errors as tk
from toolkit.formats import vmdk
from toolkit.host.runner import Runner
from toolkit.vmware import devices
from toolkit.vmware.devices import Slot
from toolkit.vmware.vmx import Vmx, read_vmx, write_vmx

T = TypeVar("T")

EPHEMERAL_DISK = "ephemeral.vmdk"
METADATA = "metadata.json"
RESTART_MARKER = "restart-pending"
CREATING_MARKER = "creating"  # create_vm has not answered: a VM still marked after the call is an orphan
STEMCELL_REF = "stemcell"


class Vm:
    def __init__(self, runner: Runner, directory: str, cid: VmCid) -> None:
        self.runner, self.directory, self.cid = runner, directory, cid
        self.vmx = self.file(cid.name + ".vmx")

    def __repr__(self) -> str:
        return f"Vm({self.cid}, {self.vmx!r})"

    def file(self, name: str) -> str:
        return str(self.runner.path.join(self.directory, name))

    def exists(self) -> bool:
        """Whether the VM is there (its .vmx; a directory without one is a failed create)."""
        return self.runner.exists(self.vmx)

    def anything_left(self) -> bool:
        return self.runner.exists(self.directory)

    def remove(self) -> None:
        """Delete the directory and everything in it (its MACs are then free)."""
        self.runner.remove_tree(self.directory)

    # --- the .vmx --------------------------------------------------------------------------

    def read_vmx(self) -> Vmx:
        return read_vmx(self.runner, self.vmx)

    def write_vmx(self, config: Vmx) -> None:
        write_vmx(self.runner, self.vmx, config)

    def edit_vmx(self, change: Callable[[Vmx], T]) -> T:
        """Read, change and write the .vmx (read now: VMware rewrote it when the VM powered off)."""
        config = self.read_vmx()
        result = change(config)
        self.write_vmx(config)
        return result

    def configure(
        self, *, props: VmProperties, nics: Sequence[NicSpec], macs: Sequence[str], ephemeral: str | None, iso: str
    ) -> None:
        """The hardware of a fresh clone (see ``vmx_edit.configure_new_vm``)."""
        self.edit_vmx(
            lambda config: vmx_edit.configure_new_vm(
                config, props=props, nics=nics, macs=macs, ephemeral=ephemeral, iso=iso
            )
        )

    def copy_from(self, template_vmx: str) -> None:
        """A full copy of a template (Player): its disks keep their names, the .vmx gets this VM's."""
        source_dir = self.runner.path.dirname(template_vmx)
        self.runner.mkdir(self.directory)
        for name in self.runner.list_dir(source_dir):
            if name.lower().endswith(".vmdk"):
                self.runner.copy_file(self.runner.path.join(source_dir, name), self.file(name))
        config = read_vmx(self.runner, template_vmx)
        devices.set_display_name(config, self.cid.name)
        self.write_vmx(config)

    def set_display_name(self, name: str) -> None:
        config = self.read_vmx()
        if devices.display_name(config) != name:
            devices.set_display_name(config, name)
            self.write_vmx(config)

    # --- disks -----------------------------------------------------------------------------

    def create_ephemeral(self, size_mb: int) -> str | None:
        """The ephemeral disk, if one is asked for; its path relative to the .vmx (it moves with the VM)."""
        if size_mb <= 0:
            return None
        vmdk.create_disk(self.runner, self.file(EPHEMERAL_DISK), size_mb)
        return EPHEMERAL_DISK

    def slot_of(self, disk_path: str) -> Slot | None:
        """Where the disk at ``disk_path`` is attached, if it is."""
        return vmx_edit.slot_of(self.read_vmx(), disk_path)

    def attach_disk(self, disk_path: str) -> str:
        """Attach a persistent disk on the next free unit; its hint for the agent."""
        return self.edit_vmx(lambda config: vmx_edit.attach_persistent(config, disk_path))

    def detach_disk(self, slot: Slot) -> None:
        self.edit_vmx(lambda config: devices.detach(config, slot))

    def persistent_disks(self, folder: str) -> list[str]:
        """Paths of the attached disks that live in ``folder`` (the store's disks)."""
        return [path for _slot, path in vmx_edit.persistent_attachments(self.read_vmx(), folder)]

    def detach_disks_in(self, folder: str) -> list[str]:
        """Take every disk that lives in ``folder`` out of the .vmx; their paths.

        A .vmx that cannot be parsed is left alone: VMware cannot use it either,
        and the disks live outside the VM's directory.
        """
        try:
            config = self.read_vmx()
        except tk.VmxError:
            return []
        attached = vmx_edit.persistent_attachments(config, folder)
        for slot, _path in attached:
            devices.detach(config, slot)
        if attached:
            self.write_vmx(config)
        return [path for _slot, path in attached]

    def uses(self, disk_path: str) -> bool:
        """Whether the .vmx names ``disk_path`` at all (a plain byte search: no parsing)."""
        return self.exists() and disk_path.encode() in self.runner.read_bytes(self.vmx)

    # --- records ---------------------------------------------------------------------------

    def read_record(self, name: str) -> dict[str, Any]:
        return records.read_json(self.runner, self.file(name))

    def write_record(self, name: str, value: Any, *, mode: int = records.PRIVATE) -> None:
        records.write_json(self.runner, self.file(name), value, mode=mode)

    def write_file(self, name: str, data: bytes, *, mode: int = records.PRIVATE) -> None:
        self.runner.write_bytes(self.file(name), data, mode=mode)

    def metadata(self) -> dict[str, Any]:
        return records.read_json_or_empty(self.runner, self.file(METADATA))

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self.write_record(METADATA, metadata, mode=0o644)

    def mark_creating(self) -> None:
        self.runner.write_bytes(self.file(CREATING_MARKER), b"")

    def creating(self) -> bool:
        """Marked by a create_vm that has not answered (yet, or ever: it was killed)."""
        return self.runner.exists(self.file(CREATING_MARKER))

    def clear_creating(self) -> None:
        self.runner.remove(self.file(CREATING_MARKER))

    def mark_restart_pending(self) -> None:
        self.runner.write_bytes(self.file(RESTART_MARKER), b"")

    def restart_pending(self) -> bool:
        return self.runner.exists(self.file(RESTART_MARKER))

    def clear_restart_pending(self) -> None:
        self.runner.remove(self.file(RESTART_MARKER))

    def record_stemcell(self, stemcell: StemcellCid) -> None:
        """Remember the stemcell this VM is a linked clone of (its template must stay)."""
        self.runner.write_bytes(self.file(STEMCELL_REF), str(stemcell).encode())

    def stemcell(self) -> StemcellCid | None:
        """The stemcell recorded at clone time; ``None`` when there is no record or a damaged one."""
        try:
            return StemcellCid(self.runner.read_bytes(self.file(STEMCELL_REF)).decode().strip())
        except (tk.HostFileNotFound, UnicodeDecodeError, CpiFailure):
            return None

    def vmsd(self) -> bytes:
        """The snapshot dictionary vmrun writes beside a clone (``cloneOf0`` names its template)."""
        try:
            return self.runner.read_bytes(self.file(self.cid.name + ".vmsd"))
        except tk.HostFileNotFound:
            return b""
