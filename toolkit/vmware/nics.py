"""Network adapters in a ``Vmx``: the ``ethernetN.*`` keys as typed ``Nic`` values.

Knows what the adapter keys mean and VMware's rules for them (static MAC range,
device models, vnet only for custom networks) and validates before editing. Must
not parse the file itself (``vmx.py``), touch files or VMs, or choose addresses
(callers such as the CPI do).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum

from toolkit.errors import VmxError
from toolkit.vmware.vmx import Vmx, is_true

__all__ = ["ConnectionType", "MAX_NICS", "NIC_DEVICES", "Nic", "nics", "remove_nics", "set_nic"]

log = logging.getLogger(__name__)


class ConnectionType(str, Enum):
    NAT = "nat"
    HOSTONLY = "hostonly"
    BRIDGED = "bridged"
    CUSTOM = "custom"


MAX_NICS = 10  # ethernet0..ethernet9 on hosted products
NIC_DEVICES = frozenset({"e1000", "e1000e", "vmxnet3", "vlance", "vmxnet"})
# libvirt's vmx.c: a NIC without ethernetN.virtualDev is the default "vlance".
_DEFAULT_NIC_DEVICE = "vlance"
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}\Z")
# VMware refuses static MACs outside 00:50:56:00:00:00-00:50:56:3F:FF:FF
# (unless ethernetN.checkMACAddress = "FALSE", which this module never writes).
_STATIC_MAC = re.compile(r"00:50:56:[0-3][0-9a-f](?::[0-9a-f]{2}){2}\Z")


@dataclass(frozen=True, slots=True)
class Nic:
    """A network adapter. ``mac`` set means a static address (when writing)."""

    index: int
    connection_type: ConnectionType
    vnet: str | None
    mac: str | None
    virtual_dev: str = "vmxnet3"


def nics(vmx: Vmx) -> list[Nic]:
    """Present adapters in index order; ``mac`` is the static or the generated address."""
    return [_read_nic(vmx, index) for index in range(MAX_NICS) if is_true(vmx.get(f"ethernet{index}.present"))]


def _read_nic(vmx: Vmx, index: int) -> Nic:
    prefix = f"ethernet{index}."
    kind = (vmx.get(prefix + "connectionType") or ConnectionType.BRIDGED.value).lower()  # VMware's default
    try:
        connection = ConnectionType(kind)
    except ValueError as exc:
        raise VmxError(f"{prefix}connectionType {kind!r} is not one of nat, hostonly, bridged, custom") from exc
    static = (vmx.get(prefix + "addressType") or "generated").lower() == "static"
    mac = vmx.get(prefix + ("address" if static else "generatedAddress"))
    device = vmx.get(prefix + "virtualDev") or _DEFAULT_NIC_DEVICE
    return Nic(index, connection, vmx.get(prefix + "vnet"), mac.lower() if mac else None, device)


def set_nic(vmx: Vmx, nic: Nic) -> None:
    """Write ``nic`` as ``ethernet<index>``, keeping keys it does not describe."""
    _check_nic(nic)
    prefix = f"ethernet{nic.index}."
    vmx.set(prefix + "present", "TRUE")
    vmx.set(prefix + "virtualDev", nic.virtual_dev)
    vmx.set(prefix + "connectionType", nic.connection_type.value)
    vmx.set(prefix + "addressType", "static" if nic.mac else "generated")
    for key, value in (("vnet", nic.vnet), ("address", nic.mac.upper() if nic.mac else None)):
        if value:
            vmx.set(prefix + key, value)
        else:
            vmx.unset(prefix + key)  # stale from the adapter this one replaces
    log.debug("set %snic %s", prefix, nic.connection_type.value)


def _check_nic(nic: Nic) -> None:
    if not 0 <= nic.index < MAX_NICS:
        raise VmxError(f"NIC index {nic.index} out of range 0-{MAX_NICS - 1}")
    if nic.virtual_dev not in NIC_DEVICES:
        raise VmxError(f"NIC device {nic.virtual_dev!r} is not one of {', '.join(sorted(NIC_DEVICES))}")
    if (nic.connection_type is ConnectionType.CUSTOM) != bool(nic.vnet):
        raise VmxError("a NIC names a vnet (e.g. 'vmnet2') exactly when its connection type is custom")
    if nic.mac and not _STATIC_MAC.match(nic.mac.lower()):
        raise VmxError(f"static MAC {nic.mac!r} is outside VMware's range 00:50:56:00:00:00-00:50:56:3f:ff:ff")


def remove_nics(vmx: Vmx) -> None:
    vmx.unset_prefix("ethernet")
