"""Write a small, realistic, powered-off VM for tests: a .vmx and a monolithicSparse disk.

The .vmx looks like one VMware Workstation writes for a new Linux VM (never
powered on: no ``uuid.*``, no generated MAC yet). This module only creates files;
it does not register anything with the simulated host.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.formats.vmdk import create_sparse

MB = 1024 * 1024


def make_vm(path: str, *, memory: int = 512, disk_mb: int = 64, cdrom_iso: str | None = None) -> str:
    """Create ``path`` (a .vmx), its directory and ``<name>-disk1.vmdk``; returns the .vmx path."""
    vmx_path = os.path.abspath(path)
    directory = Path(vmx_path).parent
    directory.mkdir(parents=True, exist_ok=True)
    name = Path(vmx_path).stem
    disk_name = f"{name}-disk1.vmdk"
    with open(directory / disk_name, "wb") as disk:
        create_sparse(disk, disk_mb * MB, adapter="lsilogic", name=disk_name)
    (directory / f"{name}.vmx").write_text(vmx_text(name, memory, disk_name, cdrom_iso), encoding="utf-8")
    return vmx_path


def vmx_text(name: str, memory: int, disk_name: str, cdrom_iso: str | None) -> str:
    lines = [
        '.encoding = "UTF-8"',
        'config.version = "8"',
        'virtualHW.version = "19"',
        f'displayName = "{name}"',
        'guestOS = "ubuntu-64"',
        'numvcpus = "1"',
        f'memsize = "{memory}"',
        'firmware = "bios"',
        'msg.autoAnswer = "TRUE"',
        'pciBridge0.present = "TRUE"',
        'vmci0.present = "TRUE"',
        'scsi0.present = "TRUE"',
        'scsi0.virtualDev = "lsilogic"',
        'scsi0:0.present = "TRUE"',
        f'scsi0:0.fileName = "{disk_name}"',
        'scsi0:0.mode = "persistent"',
        'ethernet0.present = "TRUE"',
        'ethernet0.virtualDev = "vmxnet3"',
        'ethernet0.connectionType = "nat"',
        'ethernet0.addressType = "generated"',
        'tools.syncTime = "TRUE"',
    ]
    if cdrom_iso is not None:
        lines += [
            'ide1:0.present = "TRUE"',
            'ide1:0.deviceType = "cdrom-image"',
            f'ide1:0.fileName = "{cdrom_iso}"',
            'ide1:0.startConnected = "TRUE"',
        ]
    return "\n".join(lines) + "\n"
