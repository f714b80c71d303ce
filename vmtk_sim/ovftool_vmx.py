"""ovftool's VMX -> VMX conversion: a full, independent copy of a powered-off VM.

``ovftool --sourceType=VMX ... src.vmx dst.vmx`` (what the reference CPI runs to
clone on Player, where vmrun cannot) writes the target .vmx and one
monolithicSparse ``<name>-disk<N>.vmdk`` per hard disk, holding the data of the
source disk's whole snapshot chain (the reference's ``driver_test.go`` expects
``vm-virtualmachine-disk1.vmdk`` on real VMware). The target is a new VM: the
identity VMware generates at first power-on (UUIDs, generated MACs, NVRAM,
suspend state) is not carried over [I]. Message wording follows the captured
OVF/OVA imports with ``VMX`` in place of ``OVF`` [I]. A disk of a running VM is
locked (``<disk>.lck``), and ovftool cannot open it [I].
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from toolkit.errors import DiskError, VmxError
from toolkit.formats.vmdk import read_header
from toolkit.formats.vmdkformat import SECTOR
from toolkit.vmware.devices import hard_disks
from toolkit.vmware.vmx import Vmx
from vmtk_sim import deltadisk

# Keys VMware generates for a VM of its own; a converted VM gets new ones on first power-on [I].
IDENTITY_KEYS = ("uuid.bios", "uuid.location", "vc.uuid", "nvram", "extendedConfigFile", "cleanShutdown")
IDENTITY_PREFIXES = ("checkpoint.", "sched.swap.derivedName")
_GENERATED = re.compile(r"^ethernet\d+\.generatedAddress(Offset)?$", re.IGNORECASE)
_EXTENT = re.compile(rb'(RW\s+\d+\s+SPARSE\s+")[^"]*(")')


class VmxSourceError(Exception):
    """The source cannot be converted; ``lines`` are ovftool's ``Error:`` text and details."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = lines


def read_source(source: str) -> Vmx:
    if not os.path.isfile(source):
        raise VmxSourceError(f"Failed to open file: {source}")  # [I]
    try:
        return Vmx.parse(Path(source).read_bytes(), source=source)
    except VmxError as exc:
        raise VmxSourceError(f"Failed to open VMX source: {source}", str(exc)) from exc  # [I]


def default_name(source: str, config: Vmx) -> str:
    return config.get("displayName") or Path(source).stem


def convert(source: str, config: Vmx, vmx_path: str, name: str, progress: Callable[[int], None]) -> None:
    """Write the target's disks and .vmx; on failure remove the disks already written."""
    directory = os.path.dirname(vmx_path) or "."
    prefix = Path(vmx_path).stem
    written: list[str] = []
    try:
        for number, disk in enumerate(hard_disks(config), start=1):
            target_name = f"{prefix}-disk{number}.vmdk"
            _copy_disk(_source_disk(source, disk.file_name), os.path.join(directory, target_name), written)
            config.set(f"{disk.slot}.fileName", target_name)
            progress(min(99, 100 * number // max(1, len(hard_disks(config)))))
        _new_identity(config, name)
        Path(vmx_path).write_bytes(config.dumps())
    except BaseException:
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise


def _source_disk(source: str, file_name: str) -> str:
    path = file_name if os.path.isabs(file_name) else os.path.join(os.path.dirname(source), file_name)
    if not os.path.isfile(path):
        raise VmxSourceError(f"File ({file_name}) could not be found.")  # as for an OVF's missing disk
    if os.path.isdir(path + ".lck"):
        raise VmxSourceError(f"Failed to open disk: {path}", "The file is already in use")  # [I]
    return path


def _copy_disk(source: str, target: str, written: list[str]) -> None:
    """The chain's data in one monolithicSparse file whose descriptor names it."""
    written.append(target)
    deltadisk.copy_flat(source, target)
    try:
        with open(target, "r+b") as handle:
            header = read_header(handle)
            handle.seek(header.descriptor_offset * SECTOR)
            size = header.descriptor_size * SECTOR
            text = handle.read(size)
            renamed = _EXTENT.sub(lambda m: m.group(1) + os.path.basename(target).encode() + m.group(2), text)
            handle.seek(header.descriptor_offset * SECTOR)
            handle.write(renamed[:size].ljust(size, b"\0"))
    except (DiskError, ValueError) as exc:
        raise VmxSourceError(f"Failed to convert disk: {source}", str(exc)) from exc  # [I]


def _new_identity(config: Vmx, name: str) -> None:
    config.set("displayName", name)
    for key in IDENTITY_KEYS:
        config.unset(key)
    for prefix in IDENTITY_PREFIXES:
        config.unset_prefix(prefix)
    for key in [k for k in config.keys() if _GENERATED.match(k)]:
        config.unset(key)
