"""``render_vmx(spec, *, name, disk_file) -> Vmx``: the .vmx ovftool writes for an OVF.

Mirrors what ovftool's OVF -> VMX conversion produces (checked against
``fixtures/reference/image.vmx``): lower-case ``displayname``/``guestos``/
``virtualhw.version``, the PCI bridges, CD-ROMs, video, disks (named
``<name>-disk<N>.vmdk``), controllers, NICs, then the ``vmw:Config`` extras
translated from vSphere API names to .vmx keys, then ``vmw:ExtraConfig`` as is.
Pure: no files, no programs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from toolkit.errors import OvfError
from toolkit.formats.ovf import ControllerKind, OvfSpec
from toolkit.vmware.vmx import Vmx

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_HW_VERSION",
    "NVRAM_REF",
    "VIDEO_KEYS",
    "disk_file_name",
    "guest_os",
    "hardware_version",
    "render_vmx",
]

log = logging.getLogger(__name__)

# Used when the OVF names no vmx-NN family (only with --lax); stemcells say vmx-09..vmx-13.
DEFAULT_HW_VERSION = 9
# CIM OperatingSystemSection ids for OVFs without vmw:osType (other tools' exports).
_CIM_GUESTS = {
    1: "other",
    36: "other26xlinux",
    93: "ubuntu",
    94: "ubuntu-64",
    101: "otherlinux-64",
    106: "otherlinux-64",
}
# vSphere guest ids whose .vmx spelling is not the mechanical "<id>-64".
_GUEST_EXCEPTIONS = {"windows7Server64Guest": "windows7srv-64", "windows8Server64Guest": "windows8srv-64"}
_NIC_DEVICES = {"vmxnet3": "vmxnet3", "e1000": "e1000", "e1000e": "e1000e", "pcnet32": "vlance", "vmxnet2": "vmxnet"}


def _same(value: str) -> str:
    return value


def _upper(value: str) -> str:
    return value.upper()


def _kb_to_bytes(value: str) -> str:
    return str(int(value) * 1024)


def _standby(value: str) -> str:
    # powerOpInfo.standbyAction "checkpoint" is suspend-on-standby: no online standby.
    return "TRUE" if value.lower() == "poweronsuspend" else "FALSE"


Translate = tuple[str, Callable[[str], str]]
# vmw:Config key (vSphere API name) -> .vmx key, in the order ovftool writes them
# (image.ovf -> image.vmx shows both the names and the order).
CONFIG_KEYS: dict[str, Translate] = {
    "cpuHotAddEnabled": ("vcpu.hotadd", _same),
    "cpuHotRemoveEnabled": ("vcpu.hotremove", _same),
    "memoryHotAddEnabled": ("mem.hotadd", _same),
    "firmware": ("firmware", _same),
    "bootOptions.efiSecureBootEnabled": ("uefi.secureBoot.enabled", _upper),
    "virtualICH7MPresent": ("ich7m.present", _upper),
    "virtualSMCPresent": ("smc.present", _upper),
    "tools.syncTimeWithHost": ("tools.syncTime", _same),
    "tools.afterPowerOn": ("toolscripts.afterpoweron", _same),
    "tools.afterResume": ("toolscripts.afterresume", _same),
    "tools.beforeGuestShutdown": ("toolscripts.beforepoweroff", _same),
    "tools.beforeGuestStandby": ("toolscripts.beforesuspend", _same),
    "tools.toolsUpgradePolicy": ("tools.upgrade.policy", _same),
    "powerOpInfo.powerOffType": ("powerType.powerOff", _same),
    "powerOpInfo.resetType": ("powerType.reset", _same),
    "powerOpInfo.suspendType": ("powerType.suspend", _same),
    "nestedHVEnabled": ("vhv.enable", _same),
    "powerOpInfo.standbyAction": ("chipset.onlineStandby", _standby),
}
VIDEO_KEYS: dict[str, Translate] = {
    "useAutoDetect": ("svga.autodetect", _same),
    "enable3DSupport": ("mks.enable3d", _same),
    "use3dRenderer": ("mks.use3dRenderer", _same),
    "videoRamSizeInKB": ("svga.vramSize", _kb_to_bytes),
}
# vmw:ExtraConfig nvram = "ovf:/file/<id>": the NVRAM travels as a package file,
# which ovftool writes next to the .vmx under this name.
NVRAM_REF = "ovf:/file/"


def disk_file_name(name: str, index: int) -> str:
    """ovftool's name for the ``index``-th (1-based) disk of VM ``name``."""
    return f"{name}-disk{index}.vmdk"


def guest_os(spec: OvfSpec) -> str:
    """The .vmx ``guestos`` for the OVF's guest (``ubuntu64Guest`` -> ``ubuntu-64``)."""
    if spec.guest_os:
        if spec.guest_os in _GUEST_EXCEPTIONS:
            return _GUEST_EXCEPTIONS[spec.guest_os]
        base = re.sub(r"Guest$", "", spec.guest_os)
        match = re.fullmatch(r"(.*?)_?64", base)
        return f"{match.group(1).lower()}-64" if match else base.lower()
    return _CIM_GUESTS.get(spec.os_id or 1, "other")


def hardware_version(spec: OvfSpec) -> int:
    return max(spec.hardware_versions, default=DEFAULT_HW_VERSION)


def render_vmx(
    spec: OvfSpec,
    *,
    name: str,
    disk_file: str | None = None,
    file_prefix: str | None = None,
    allow_extra_config: bool = True,
) -> Vmx:
    """The .vmx for VM ``name``.

    Disk N is ``<file_prefix>-diskN.vmdk`` (prefix: ``name``), disk 1 ``disk_file`` if given.
    """
    vmx = Vmx.new()
    prefix = file_prefix or name
    _header(vmx, spec, name)
    _cdroms(vmx, spec)
    _translated(vmx, spec.video_config, VIDEO_KEYS)
    _disks(vmx, spec, prefix, disk_file)
    _controllers(vmx, spec)
    _nics(vmx, spec)
    vmx.set("vmci0.unrestricted", "false")
    _translated(vmx, spec.config, CONFIG_KEYS)
    for key, value in spec.extra_config if allow_extra_config else ():
        vmx.set(key, f"{prefix}-file1.nvram" if key.lower() == "nvram" and value.startswith(NVRAM_REF) else value)
    return vmx


def _header(vmx: Vmx, spec: OvfSpec, name: str) -> None:
    for key, value in (
        ("displayname", name),
        ("guestos", guest_os(spec)),
        ("virtualhw.version", str(hardware_version(spec))),
        ("config.version", "8"),
        ("numvcpus", str(spec.cpus)),
        ("cpuid.coresPerSocket", str(spec.cores_per_socket)),
        ("memsize", str(spec.memory_mb)),
        ("pciBridge0.present", "TRUE"),
    ):
        vmx.set(key, value)
    for bridge in range(4, 8):
        vmx.set(f"pciBridge{bridge}.present", "TRUE")
        vmx.set(f"pciBridge{bridge}.virtualDev", "pcieRootPort")
        vmx.set(f"pciBridge{bridge}.functions", "8")
    vmx.set("vmci0.present", "TRUE")
    vmx.set("floppy0.present", "FALSE")


def _slot(spec: OvfSpec, controller_id: str, unit: int) -> str:
    controller = spec.controller(controller_id)
    if controller.kind is ControllerKind.SCSI and unit == 7:
        raise OvfError("OVF puts a device on SCSI unit 7, which the controller itself uses")
    return f"{controller.kind.value}{controller.bus}:{unit}"


def _cdroms(vmx: Vmx, spec: OvfSpec) -> None:
    for cdrom in spec.cdroms:
        slot = _slot(spec, cdrom.controller, cdrom.unit)
        vmx.set(f"{slot}.clientDevice", "FALSE")
        vmx.set(f"{slot}.present", "TRUE")
        vmx.set(f"{slot}.deviceType", "atapi-cdrom")
        vmx.set(f"{slot}.autodetect", "TRUE")
        vmx.set(f"{slot}.startConnected", "FALSE")
        vmx.set(f"{slot}.allowguestconnectioncontrol", "true")


def _disks(vmx: Vmx, spec: OvfSpec, name: str, disk_file: str | None) -> None:
    for index, disk in enumerate(spec.disks, start=1):
        slot = _slot(spec, disk.controller, disk.unit)
        file_name = disk_file if index == 1 and disk_file else disk_file_name(name, index)
        vmx.set(f"{slot}.present", "TRUE")
        vmx.set(f"{slot}.deviceType", "disk")
        vmx.set(f"{slot}.fileName", file_name)
        vmx.set(f"{slot}.allowguestconnectioncontrol", "false")
        vmx.set(f"{slot}.mode", "persistent")


def _controllers(vmx: Vmx, spec: OvfSpec) -> None:
    for controller in spec.controllers:
        prefix = f"{controller.kind.value}{controller.bus}"
        if controller.kind is ControllerKind.SCSI:
            vmx.set(f"{prefix}.virtualDev", _scsi_device(controller.sub_type))
        if controller.kind is not ControllerKind.IDE:  # ide0/ide1 always exist
            vmx.set(f"{prefix}.present", "TRUE")


def _scsi_device(sub_type: str | None) -> str:
    value = (sub_type or "lsilogic").split()[0].lower()
    return {"virtualscsi": "pvscsi", "lsilogicsas": "lsisas1068"}.get(value, value)


def _nics(vmx: Vmx, spec: OvfSpec) -> None:
    for index, nic in enumerate(spec.nics):
        prefix = f"ethernet{index}"
        vmx.set(f"{prefix}.present", "TRUE")
        vmx.set(f"{prefix}.virtualDev", _NIC_DEVICES.get(nic.sub_type.lower(), "e1000"))
        # A VMX target has no port groups: ovftool leaves the NIC bridged to the host.
        vmx.set(f"{prefix}.connectionType", "bridged")
        vmx.set(f"{prefix}.addressType", "generated")


def _translated(vmx: Vmx, pairs: tuple[tuple[str, str], ...], table: dict[str, Translate]) -> None:
    given = dict(pairs)
    for key in given.keys() - table.keys():
        log.debug("OVF vmw:Config %s has no .vmx equivalent; skipped (as ovftool does)", key)
    for key, (vmx_key, convert) in table.items():
        if key in given:
            try:
                vmx.set(vmx_key, convert(given[key]))
            except ValueError as exc:
                raise OvfError(f"OVF vmw:Config {key}={given[key]!r} is not valid") from exc
