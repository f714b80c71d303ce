"""The files VMware itself writes next to a VM: .vmx edits, lock dirs, vmware.log.

At power-on VMware validates the configuration, fills in the keys it owns
(``uuid.*``, generated MACs, ``extendedConfigFile``, ``cleanShutdown``) and holds
``<vmx>.lck/`` and ``<disk>.lck/`` directories; at power-off it rewrites the
.vmx from its in-memory copy, so edits made to the file meanwhile are lost.
This module does those file effects; it keeps no state and prints nothing.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from toolkit.vmware.devices import hard_disks
from toolkit.vmware.vmx import Vmx
from vmtk_sim import messages as msg
from vmtk_sim.context import disk_path

MAX_NICS = 10
# Static MACs must lie in VMware's manual range 00:50:56:00:00:00-00:50:56:3F:FF:FF.
_STATIC_MAC = re.compile(r"^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$", re.IGNORECASE)
_ANY_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$", re.IGNORECASE)


def power_on_problems(vmx_path: str, vmx: Vmx) -> list[str]:
    """Why VMware would refuse to power this VM on (empty: it powers on)."""
    problems = [
        f"File not found: {att.file_name}"
        for att in hard_disks(vmx)
        if not os.path.isfile(disk_path(vmx_path, att.file_name))
    ]
    for index in present_nics(vmx):
        mac = vmx.get(f"ethernet{index}.address", "") or ""
        if _address_type(vmx, index) == "static" and not _valid_static(vmx, index, mac):
            problems.append(f"Invalid MAC address specified for ethernet{index}: {mac!r}")
    memsize = vmx.get("memsize", "4") or "4"
    if not memsize.isdigit() or int(memsize) % 4:
        problems.append(f"The memory size {memsize} MB is not a multiple of 4 MB")
    return problems


def _valid_static(vmx: Vmx, index: int, mac: str) -> bool:
    if (vmx.get(f"ethernet{index}.checkMACAddress", "TRUE") or "").upper() == "FALSE":
        return bool(_ANY_MAC.match(mac))
    return bool(_STATIC_MAC.match(mac))


def present_nics(vmx: Vmx) -> list[int]:
    return [i for i in range(MAX_NICS) if (vmx.get(f"ethernet{i}.present") or "").upper() == "TRUE"]


def _address_type(vmx: Vmx, index: int) -> str:
    return (vmx.get(f"ethernet{index}.addressType") or "generated").lower()


def write_failure_log(vmx_path: str, problems: list[str]) -> None:
    """vmware.log lines a driver can read after ``The operation was canceled``."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    lines = [f"{stamp} In(05) vmx Msg_Post: Error\n"]
    lines += [f"{stamp} In(05) vmx [msg.sim.powerOn] {problem}\n" for problem in problems]
    lines.append(f"{stamp} In(05) vmx Module 'PowerOn' power on failed.\n")
    with open(os.path.join(os.path.dirname(vmx_path), "vmware.log"), "a", encoding="utf-8") as log:
        log.writelines(lines)


def apply_power_on_keys(vmx_path: str, vmx: Vmx) -> None:
    """The keys VMware writes into a .vmx it powers on (only those still missing)."""
    name = Path(vmx_path).stem
    vmx.set("cleanShutdown", "FALSE")
    vmx.set("softPowerOff", "FALSE")
    uuid = vmx.get("uuid.bios") or new_uuid()
    for key in ("uuid.bios", "uuid.location"):
        if not vmx.get(key):
            vmx.set(key, uuid)
    for index in present_nics(vmx):
        if _address_type(vmx, index) == "generated" and not vmx.get(f"ethernet{index}.generatedAddress"):
            vmx.set(f"ethernet{index}.generatedAddress", new_generated_mac())
            vmx.set(f"ethernet{index}.generatedAddressOffset", "0")
    if not vmx.get("extendedConfigFile"):
        vmx.set("extendedConfigFile", f"{name}.vmxf")
    vmxf = os.path.join(os.path.dirname(vmx_path), vmx.get("extendedConfigFile") or f"{name}.vmxf")
    if not os.path.exists(vmxf):
        Path(vmxf).write_text('<?xml version="1.0"?>\n<Foundry>\n<VM>\n</VM>\n</Foundry>\n', "utf-8")


def new_uuid() -> str:
    """A BIOS UUID in VMware's spelling: ``56 4d 13 59 01 1a d1 1a-57 5b 0a d7 4b 2a 0c 99``."""
    raw = ["56", "4d"] + [secrets.token_hex(1) for _ in range(14)]
    return " ".join(raw[:8]) + "-" + " ".join(raw[8:])


def new_generated_mac() -> str:
    """VMware's generated-address prefix is 00:0c:29."""
    return "00:0c:29:" + ":".join(secrets.token_hex(1) for _ in range(3))


def write_vmx_file(vmx_path: str, vmx: Vmx) -> None:
    temp = f"{vmx_path}.sim-{secrets.token_hex(4)}"
    Path(temp).write_bytes(vmx.dumps())
    os.replace(temp, vmx_path)


def encode_config(vmx: Vmx) -> str:
    return base64.b64encode(vmx.dumps()).decode("ascii")


def decode_config(text: str) -> Vmx:
    return Vmx.parse(base64.b64decode(text))


# --- locks -------------------------------------------------------------------------------


def lock_dirs(vmx_path: str, vmx: Vmx) -> list[str]:
    """``<disk>.lck`` for each disk, then ``<vmx>.lck`` (VMware releases them in this order)."""
    disks = [disk_path(vmx_path, att.file_name) + ".lck" for att in hard_disks(vmx)]
    return disks + [vmx_path + ".lck"]


def foreign_lock(vmx_path: str, vmx: Vmx) -> str | None:
    """A lock dir left by something else (a GUI, a crashed VMware) on a VM we think is off."""
    return next((path for path in lock_dirs(vmx_path, vmx) if os.path.exists(path)), None)


def take_locks(vmx_path: str, vmx: Vmx, vm_id: str) -> None:
    # Real lock files: M<nnnnn>.lck holding "uuid=<bios uuid> <pid>-<n>(vmware-vmx)".
    uuid = (vmx.get("uuid.bios") or "").replace(" ", "-")
    for path in lock_dirs(vmx_path, vmx):
        os.makedirs(path, exist_ok=True)
        number = int(vm_id.rsplit("-", 1)[-1]) % 100000
        Path(path, f"M{number:05d}.lck").write_text(f"uuid={uuid} {os.getpid()}-{number}(vmware-vmx)")


def release_locks(vmx_path: str, vmx: Vmx) -> None:
    for path in lock_dirs(vmx_path, vmx):
        shutil.rmtree(path, ignore_errors=True)


def refuse_if_locked(vmx_path: str, vmx: Vmx) -> None:
    if foreign_lock(vmx_path, vmx) is not None:
        raise msg.refusal(msg.IN_USE)
