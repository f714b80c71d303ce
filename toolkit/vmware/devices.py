"""Typed views over a ``Vmx``: NICs, disk and CD-ROM slots, name, CPUs, memory, guestinfo.

Knows what the device keys mean (``ethernetN.*``, ``scsiN:U.*``...) and VMware's
address limits, and validates input before editing. It must not parse or
render the file itself (``vmx.py``), touch files or VMs, or decide policy
such as which slot a CPI uses for which disk.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum

from toolkit.errors import DiskError, VmxError
from toolkit.vmware.nics import (
    MAX_NICS,
    NIC_DEVICES,
    ConnectionType,
    Nic,
    nics,
    remove_nics,
    set_nic,
)
from toolkit.vmware.vmx import Vmx, is_true

log = logging.getLogger(__name__)

# NICs live in toolkit.vmware.nics; they are re-exported here as part of the device API.
__all__ = [
    "Attachment",
    "Bus",
    "ConnectionType",
    "LIMITS",
    "MAX_NICS",
    "NIC_DEVICES",
    "Nic",
    "Slot",
    "attach_cdrom",
    "attach_disk",
    "cdroms",
    "detach",
    "display_name",
    "ensure_controller",
    "free_slot",
    "hard_disks",
    "is_true",
    "nics",
    "remove_nics",
    "set_cpus",
    "set_display_name",
    "set_guestinfo",
    "set_memory_mb",
    "set_nic",
]


class Bus(str, Enum):
    SCSI = "scsi"
    SATA = "sata"
    IDE = "ide"
    NVME = "nvme"


# (controllers, units per controller); SCSI unit 7 is the controller itself.
# VMware silently ignores devices outside these (vmctl: scsi0:16, sata0:30, ide0:2).
LIMITS = {Bus.SCSI: (4, 16), Bus.SATA: (4, 30), Bus.IDE: (2, 2), Bus.NVME: (4, 15)}
SCSI_CONTROLLER_UNIT = 7
_SLOT = re.compile(r"(scsi|sata|ide|nvme)(\d+):(\d+)\Z", re.IGNORECASE)
_SLOT_KEY = re.compile(r"(scsi|sata|ide|nvme)(\d+):(\d+)\.", re.IGNORECASE)


def _valid_address(bus: Bus, controller: int, unit: int) -> bool:
    controllers, units = LIMITS[bus]
    in_range = 0 <= controller < controllers and 0 <= unit < units
    return in_range and not (bus is Bus.SCSI and unit == SCSI_CONTROLLER_UNIT)


@dataclass(frozen=True, slots=True)
class Slot:
    """A device address such as ``scsi0:1``; only addresses VMware honours exist."""

    bus: Bus
    controller: int
    unit: int

    def __post_init__(self) -> None:
        if not _valid_address(self.bus, self.controller, self.unit):
            controllers, units = LIMITS[self.bus]
            raise DiskError(
                f"invalid device slot {self}: {self.bus.value} has controllers 0-{controllers - 1} "
                f"and units 0-{units - 1}" + (" except 7" if self.bus is Bus.SCSI else "")
            )

    def __str__(self) -> str:
        return f"{self.bus.value}{self.controller}:{self.unit}"

    @classmethod
    def parse(cls, text: str) -> Slot:
        match = _SLOT.match(text.strip())
        if match is None:
            raise DiskError(f"invalid device slot {text!r}: expected e.g. 'scsi0:1' or 'sata0:0'")
        return cls(Bus(match[1].lower()), int(match[2]), int(match[3]))


@dataclass(frozen=True, slots=True)
class Attachment:
    """What occupies a slot: a disk or a CD-ROM drive (``file_name`` "" when empty)."""

    slot: Slot
    file_name: str
    device_type: str
    mode: str | None


DISK_MODES = frozenset(
    {"persistent", "nonpersistent", "undoable", "independent-persistent", "independent-nonpersistent"}
)
SCSI_DEVICES = frozenset({"lsilogic", "lsisas1068", "pvscsi", "buslogic"})
CDROM_TYPES = frozenset({"cdrom-image", "cdrom-raw", "atapi-cdrom"})
_BUS_ORDER = {Bus.IDE: 0, Bus.SATA: 1, Bus.SCSI: 2, Bus.NVME: 3}


# --- disks and CD-ROM drives ----------------------------------------------------------


def _attachments(vmx: Vmx) -> list[Attachment]:
    """Every present device VMware would honour, in slot-key order (one pass)."""
    found: dict[Slot, Attachment] = {}
    for key in vmx:
        match = _SLOT_KEY.match(key)
        if match is None:
            continue
        bus, controller, unit = Bus(match[1].lower()), int(match[2]), int(match[3])
        if not _valid_address(bus, controller, unit):
            continue  # VMware ignores it: the guest never sees it
        slot = Slot(bus, controller, unit)
        if slot not in found and _present(vmx, slot):
            found[slot] = _attachment(vmx, slot)
    return list(found.values())


def _present(vmx: Vmx, slot: Slot) -> bool:
    if not is_true(vmx.get(f"{slot}.present")):
        return False
    # IDE channels exist without keys; SCSI/SATA/NVMe children need a present controller.
    controller = vmx.get(f"{slot.bus.value}{slot.controller}.present")
    return is_true(controller) if slot.bus is not Bus.IDE else controller is None or is_true(controller)


def _attachment(vmx: Vmx, slot: Slot) -> Attachment:
    device = vmx.get(f"{slot}.deviceType") or "disk"
    return Attachment(slot, vmx.get(f"{slot}.fileName") or "", device, vmx.get(f"{slot}.mode"))


def _is_cdrom(attachment: Attachment) -> bool:
    return attachment.device_type.lower() in CDROM_TYPES  # absent deviceType: a disk


def hard_disks(vmx: Vmx) -> list[Attachment]:
    """Present disks, ordered by bus, controller and unit."""
    return sorted((a for a in _attachments(vmx) if not _is_cdrom(a)), key=_guest_order)


def cdroms(vmx: Vmx) -> list[Attachment]:
    """Present optical drives in the order a Linux guest names them sr0, sr1, ...

    The BOSH agent reads only /dev/sr0. Linux numbers sr devices in the order
    their host adapters register. The IDE (PIIX4) and SATA (AHCI) drivers are
    built into the Ubuntu stemcell kernels and probe first, IDE on PCI 00:07.1
    ahead of AHCI behind a PCIe root port; the SCSI HBA drivers (mptspi,
    vmw_pvscsi) are modules loaded later. Within a bus, lower controllers and
    units are scanned first. Hence IDE, SATA, SCSI, then controller, then unit.
    """
    return sorted((a for a in _attachments(vmx) if _is_cdrom(a)), key=_guest_order)


def _guest_order(attachment: Attachment) -> tuple[int, int, int]:
    slot = attachment.slot
    return (_BUS_ORDER[slot.bus], slot.controller, slot.unit)


def attach_disk(vmx: Vmx, slot: Slot, file_name: str, *, mode: str = "persistent") -> None:
    """Put the disk ``file_name`` at a free ``slot``, enabling its controller."""
    if mode not in DISK_MODES:
        raise DiskError(f"disk mode {mode!r} is not one of {', '.join(sorted(DISK_MODES))}")
    _claim(vmx, slot, file_name)
    vmx.set(f"{slot}.mode", mode)
    log.debug("attached disk at %s (%s)", slot, mode)


def attach_cdrom(vmx: Vmx, slot: Slot, iso_path: str) -> None:
    """Insert the image ``iso_path`` at ``slot``: a free slot or an existing CD-ROM drive."""
    if slot.bus is Bus.NVME:
        raise DiskError(f"{slot}: VMware cannot put a CD-ROM drive on NVMe")
    current = _occupant(vmx, slot)
    if current is not None and not _is_cdrom(current):
        raise DiskError(f"{slot} holds a disk ({current.file_name}); detach it first")
    # clientDevice = TRUE would connect the console's drive instead of the file,
    # and autodetect only applies to host drives.
    for stale in ("clientDevice", "autodetect"):
        vmx.unset(f"{slot}.{stale}")
    _claim(vmx, slot, iso_path, replace=True)
    vmx.set(f"{slot}.deviceType", "cdrom-image")
    vmx.set(f"{slot}.startConnected", "TRUE")  # the agent needs the media at boot
    log.debug("inserted image at %s", slot)


def _occupant(vmx: Vmx, slot: Slot) -> Attachment | None:
    """What the guest sees at ``slot``; None when the slot is empty."""
    return next((a for a in _attachments(vmx) if a.slot == slot), None)


def _claim(vmx: Vmx, slot: Slot, file_name: str, *, replace: bool = False) -> None:
    if not file_name:
        raise DiskError(f"{slot}: no file name given")
    current = _occupant(vmx, slot)
    if current is not None and not replace:
        raise DiskError(f"{slot} is already in use by {current.file_name or current.device_type}")
    if current is None:
        vmx.unset_prefix(f"{slot}.")  # leftovers of a device that is not present
    ensure_controller(vmx, slot.bus, slot.controller)
    vmx.set(f"{slot}.present", "TRUE")
    vmx.set(f"{slot}.fileName", file_name)


def detach(vmx: Vmx, slot: Slot) -> None:
    """Remove every key of ``slot`` (nothing to do if it is empty)."""
    removed = vmx.unset_prefix(f"{slot}.")
    log.debug("detached %s (%d keys)", slot, removed)


def free_slot(vmx: Vmx, bus: Bus = Bus.SCSI, controller: int = 0, *, first_unit: int = 0) -> Slot:
    """The lowest unit >= ``first_unit`` on ``bus``/``controller`` that no disk or
    CD-ROM occupies (never ``scsiN:7``)."""
    _check_controller(bus, controller)
    used = {a.slot for a in _attachments(vmx)}
    for unit in range(first_unit, LIMITS[bus][1]):
        if _valid_address(bus, controller, unit) and Slot(bus, controller, unit) not in used:
            return Slot(bus, controller, unit)
    raise DiskError(f"no free unit on {bus.value}{controller}")


def ensure_controller(vmx: Vmx, bus: Bus, controller: int, virtual_dev: str = "lsilogic") -> None:
    """Make controller ``bus``/``controller`` present; an existing SCSI model is kept."""
    _check_controller(bus, controller)
    if bus is Bus.IDE:
        return  # the IDE channels always exist
    prefix = f"{bus.value}{controller}."
    vmx.set(prefix + "present", "TRUE")
    if bus is Bus.SCSI and vmx.get(prefix + "virtualDev") is None:
        if virtual_dev not in SCSI_DEVICES:
            raise DiskError(f"SCSI controller {virtual_dev!r} is not one of {', '.join(sorted(SCSI_DEVICES))}")
        vmx.set(prefix + "virtualDev", virtual_dev)


def _check_controller(bus: Bus, controller: int) -> None:
    if not 0 <= controller < LIMITS[bus][0]:
        raise DiskError(f"{bus.value}{controller} is not a valid controller (0-{LIMITS[bus][0] - 1})")


# --- identity, size and guestinfo -----------------------------------------------------


def display_name(vmx: Vmx) -> str | None:
    return vmx.get("displayName")


def set_display_name(vmx: Vmx, name: str) -> None:
    if not name.strip():
        raise VmxError("a display name cannot be empty")
    vmx.set("displayName", name)


def set_cpus(vmx: Vmx, n: int) -> None:
    """Set ``numvcpus``; a ``cpuid.coresPerSocket`` that no longer divides it becomes ``n``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise VmxError(f"CPU count must be a positive integer, not {n!r}")
    vmx.set("numvcpus", str(n))
    cores = vmx.get("cpuid.coresPerSocket")
    # VMware refuses to power on when numvcpus is not a multiple of coresPerSocket.
    if cores is not None and (not cores.isdigit() or int(cores) == 0 or n % int(cores)):
        vmx.set("cpuid.coresPerSocket", str(n))


def set_memory_mb(vmx: Vmx, mb: int) -> None:
    if isinstance(mb, bool) or not isinstance(mb, int) or mb < 4 or mb % 4:
        raise VmxError(f"memory must be a positive multiple of 4 MB (memsize), not {mb!r}")
    vmx.set("memsize", str(mb))


def set_guestinfo(vmx: Vmx, key: str, value: str) -> None:
    """Set ``guestinfo.<key>`` (readable in the guest with ``vmtoolsd --cmd "info-get ..."``)."""
    name = key if key.lower().startswith("guestinfo.") else f"guestinfo.{key}"
    if name.lower() == "guestinfo.":
        raise VmxError("a guestinfo key needs a name")
    vmx.set(name, value)  # the value may be a secret: never logged
