"""What the CPI changes in a VM's .vmx, as pure functions over ``toolkit.vmware.vmx.Vmx``.

VMware rewrites a .vmx at power-off and discards edits made while the VM runs,
so callers apply these only to a powered-off VM and write the file with
``write_vmx``. Layout (what the agent's "scsi" device resolver relies on):
``scsi0:0`` root disk (hint "0"), ``scsi0:1`` ephemeral ("1"), persistent
disks on the lowest ``scsi0:N`` no device (disk or CD-ROM) holds, with N >= 2
and never 7 (the controller's own ID), attached ``independent-persistent`` so
snapshots and linked clones never capture them. The settings ISO goes into
the template's FIRST CD-ROM (the agent reads ``/dev/sr0``); one is added on
``ide1:0`` only if there is none. This module does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cpi.vm_properties import NicSpec, VmProperties
from toolkit.errors import DiskError
from toolkit.vmware import devices
from toolkit.vmware.devices import Bus, ConnectionType, Nic, Slot
from toolkit.vmware.vmx import Vmx

PERSISTENT_MODE = "independent-persistent"
EPHEMERAL_SLOT = Slot(Bus.SCSI, 0, 1)
FALLBACK_CDROM = Slot(Bus.IDE, 1, 0)
FIRST_PERSISTENT_UNIT = 2  # scsi0:0 is the system disk, scsi0:1 the ephemeral one


def configure_new_vm(
    vmx: Vmx,
    *,
    props: VmProperties,
    nics: Sequence[NicSpec],
    macs: Sequence[str],
    ephemeral: str | None,
    iso: str,
) -> None:
    """Hardware of a fresh clone: CPU, memory, NICs, ephemeral disk, settings CD-ROM."""
    devices.set_cpus(vmx, props.cpu)
    devices.set_memory_mb(vmx, props.ram_mb)
    devices.remove_nics(vmx)
    for index, (spec, mac) in enumerate(zip(nics, macs, strict=True)):
        devices.set_nic(vmx, Nic(index, ConnectionType(spec.connection_type), spec.vnet, mac))
    if ephemeral is not None:
        devices.ensure_controller(vmx, Bus.SCSI, 0)
        devices.attach_disk(vmx, EPHEMERAL_SLOT, ephemeral, mode="persistent")
    insert_settings_cdrom(vmx, iso)
    # Answer VMware's "moved or copied?" question by itself and never block a headless start.
    vmx.set("msg.autoAnswer", "TRUE")
    vmx.set("uuid.action", "create")


def insert_settings_cdrom(vmx: Vmx, iso: str) -> None:
    drives = devices.cdroms(vmx)
    slot = drives[0].slot if drives else FALLBACK_CDROM
    devices.attach_cdrom(vmx, slot, iso)
    vmx.set(f"{slot}.startConnected", "TRUE")


def slot_of(vmx: Vmx, path: str) -> Slot | None:
    """Where ``path`` is attached as a hard disk, if it is."""
    for disk in devices.hard_disks(vmx):
        if disk.file_name == path:
            return disk.slot
    return None


def attach_persistent(vmx: Vmx, path: str) -> str:
    """Attach ``path`` on the next free scsi0 unit (>= 2, never 7); returns the agent hint.

    A unit any device holds is skipped, a CD-ROM drive included.
    """
    try:
        slot = devices.free_slot(vmx, Bus.SCSI, 0, first_unit=FIRST_PERSISTENT_UNIT)
    except DiskError as exc:
        # Say what the CPI was doing: BOSH shows this message to the operator.
        raise DiskError("no free SCSI unit on scsi0 for another persistent disk") from exc
    devices.ensure_controller(vmx, Bus.SCSI, 0)
    devices.attach_disk(vmx, slot, path, mode=PERSISTENT_MODE)
    return str(slot.unit)


def persistent_attachments(vmx: Vmx, disks_dir: str) -> list[tuple[Slot, str]]:
    """(slot, path) of every attached disk that lives in the store's disks directory."""
    prefix = disks_dir.rstrip("/\\")
    return [
        (d.slot, d.file_name)
        for d in devices.hard_disks(vmx)
        if d.file_name.startswith(prefix) and d.file_name[len(prefix) : len(prefix) + 1] in ("/", "\\")
    ]


def human_name(metadata: Mapping[str, object]) -> str | None:
    """``<instance_group>_<deployment>_<index>``, else ``name`` (as the reference), sanitized."""
    parts = [metadata.get(k) for k in ("instance_group", "deployment", "index")]
    if all(isinstance(p, str) and p for p in parts):
        raw = "_".join(str(p) for p in parts)
    elif isinstance(metadata.get("name"), str) and metadata["name"]:
        raw = str(metadata["name"])
    else:
        return None
    # A display name is one .vmx value: no quotes, control characters or "|" escapes.
    cleaned = re.sub(r"[^A-Za-z0-9 _./:()-]", "-", raw)[:80]
    return cleaned or None
