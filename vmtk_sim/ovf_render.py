"""The .vmx ``ovftool-sim`` writes for an OVF: the simulator's own rendering of ovftool's output.

Written from what ovftool really produced (``fixtures/reference/image.vmx``, the
reference CPI's fixture, for its ``image.ovf``): lower-case identity keys, four
PCIe root ports, CD-ROMs left disconnected, the video settings, disks and their
controllers, NICs bridged with generated MACs, then the ``vmw:Config`` extras
under their .vmx names and ``vmw:ExtraConfig`` verbatim. It is deliberately not
the product's renderer: the product's stemcell import is checked against this
one, so the two must not share a mistake. Pure: a parsed OVF in, a Vmx out.
"""

from __future__ import annotations

import re

from toolkit.formats.ovf import ControllerKind, OvfSpec
from toolkit.vmware.vmx import Vmx

# ovftool's .vmx spelling of a vSphere guest id, where it is not "<base>-64" / "<base>".
GUESTS = {"windows7Server64Guest": "windows7srv-64", "windows8Server64Guest": "windows8srv-64"}
CIM_GUESTS = {93: "ubuntu", 94: "ubuntu-64", 101: "otherlinux-64", 106: "otherlinux-64", 36: "other26xlinux"}
NIC_DEVICES = {"vmxnet3": "vmxnet3", "e1000": "e1000", "e1000e": "e1000e", "pcnet32": "vlance", "vmxnet2": "vmxnet"}
SCSI_DEVICES = {"virtualscsi": "pvscsi", "lsilogicsas": "lsisas1068"}
# (vmw:Config key, .vmx key, how the value is written), in the order the real file has them.
VIDEO = (
    ("useAutoDetect", "svga.autodetect", "as-is"),
    ("enable3DSupport", "mks.enable3d", "as-is"),
    ("use3dRenderer", "mks.use3dRenderer", "as-is"),
    ("videoRamSizeInKB", "svga.vramSize", "kb"),
)
EXTRAS = (
    ("cpuHotAddEnabled", "vcpu.hotadd", "as-is"),
    ("cpuHotRemoveEnabled", "vcpu.hotremove", "as-is"),
    ("memoryHotAddEnabled", "mem.hotadd", "as-is"),
    ("firmware", "firmware", "as-is"),
    ("bootOptions.efiSecureBootEnabled", "uefi.secureBoot.enabled", "upper"),
    ("virtualICH7MPresent", "ich7m.present", "upper"),
    ("virtualSMCPresent", "smc.present", "upper"),
    ("tools.syncTimeWithHost", "tools.syncTime", "as-is"),
    ("tools.afterPowerOn", "toolscripts.afterpoweron", "as-is"),
    ("tools.afterResume", "toolscripts.afterresume", "as-is"),
    ("tools.beforeGuestShutdown", "toolscripts.beforepoweroff", "as-is"),
    ("tools.beforeGuestStandby", "toolscripts.beforesuspend", "as-is"),
    ("tools.toolsUpgradePolicy", "tools.upgrade.policy", "as-is"),
    ("powerOpInfo.powerOffType", "powerType.powerOff", "as-is"),
    ("powerOpInfo.resetType", "powerType.reset", "as-is"),
    ("powerOpInfo.suspendType", "powerType.suspend", "as-is"),
    ("nestedHVEnabled", "vhv.enable", "as-is"),
    ("powerOpInfo.standbyAction", "chipset.onlineStandby", "standby"),
)


class RenderError(Exception):
    """The OVF asks for something ovftool cannot write (ovftool then fails the import)."""


def vmx_for(spec: OvfSpec, *, name: str, prefix: str) -> Vmx:
    """The target .vmx of VM ``name`` whose files are named ``<prefix>-...``."""
    out = Vmx.new()
    _identity(out, spec, name)
    for cdrom in spec.cdroms:
        _put(
            out,
            _slot(spec, cdrom.controller, cdrom.unit),
            clientDevice="FALSE",
            present="TRUE",
            deviceType="atapi-cdrom",
            autodetect="TRUE",
            startConnected="FALSE",
            allowguestconnectioncontrol="true",
        )
    _translate(out, spec.video_config, VIDEO)
    for number, disk in enumerate(spec.disks, start=1):
        _put(
            out,
            _slot(spec, disk.controller, disk.unit),
            present="TRUE",
            deviceType="disk",
            fileName=f"{prefix}-disk{number}.vmdk",
            allowguestconnectioncontrol="false",
            mode="persistent",
        )
    for controller in spec.controllers:
        if controller.kind is ControllerKind.SCSI:
            kind = (controller.sub_type or "lsilogic").split()[0].lower()
            out.set(f"scsi{controller.bus}.virtualDev", SCSI_DEVICES.get(kind, kind))
        if controller.kind is not ControllerKind.IDE:
            out.set(f"{controller.kind.value}{controller.bus}.present", "TRUE")
    for index, nic in enumerate(spec.nics):
        _put(
            out,
            f"ethernet{index}",
            present="TRUE",
            virtualDev=NIC_DEVICES.get(nic.sub_type.lower(), "e1000"),
            connectionType="bridged",
            addressType="generated",
        )
    out.set("vmci0.unrestricted", "false")
    _translate(out, spec.config, EXTRAS)
    for key, value in spec.extra_config:
        out.set(key, f"{prefix}-file1.nvram" if key.lower() == "nvram" and value.startswith("ovf:/file/") else value)
    return out


def _identity(out: Vmx, spec: OvfSpec, name: str) -> None:
    hardware = max(spec.hardware_versions, default=9)  # no vmx-NN family (only with --lax): 9 [I]
    for key, value in (
        ("displayname", name),
        ("guestos", _guest(spec)),
        ("virtualhw.version", str(hardware)),
        ("config.version", "8"),
        ("numvcpus", str(spec.cpus)),
        ("cpuid.coresPerSocket", str(spec.cores_per_socket)),
        ("memsize", str(spec.memory_mb)),
        ("pciBridge0.present", "TRUE"),
    ):
        out.set(key, value)
    for bridge in (4, 5, 6, 7):
        _put(out, f"pciBridge{bridge}", present="TRUE", virtualDev="pcieRootPort", functions="8")
    out.set("vmci0.present", "TRUE")
    out.set("floppy0.present", "FALSE")


def _guest(spec: OvfSpec) -> str:
    if not spec.guest_os:
        return CIM_GUESTS.get(spec.os_id or 1, "other")
    if spec.guest_os in GUESTS:
        return GUESTS[spec.guest_os]
    base = spec.guest_os.removesuffix("Guest")
    wide = re.fullmatch(r"(.*?)_?64", base)
    return f"{wide.group(1).lower()}-64" if wide else base.lower()


def _slot(spec: OvfSpec, controller_id: str, unit: int) -> str:
    controller = next((c for c in spec.controllers if c.instance_id == controller_id), None)
    if controller is None:
        raise RenderError(f"a device's parent controller {controller_id!r} is not in the OVF")
    if controller.kind is ControllerKind.SCSI and unit == 7:
        raise RenderError("a device on SCSI unit 7, the controller's own")
    return f"{controller.kind.value}{controller.bus}:{unit}"


def _put(out: Vmx, device: str, **keys: str) -> None:
    for key, value in keys.items():
        out.set(f"{device}.{key}", value)


def _translate(out: Vmx, given: tuple[tuple[str, str], ...], table: tuple[tuple[str, str, str], ...]) -> None:
    values = dict(given)  # keys ovftool has no .vmx name for are dropped, as it does
    for ovf_key, vmx_key, how in table:
        if ovf_key in values:
            out.set(vmx_key, _written(values[ovf_key], how, ovf_key))


def _written(value: str, how: str, key: str) -> str:
    if how == "upper":
        return value.upper()
    if how == "standby":  # standbyAction "checkpoint" is suspend-on-standby: no online standby
        return "TRUE" if value.lower() == "poweronsuspend" else "FALSE"
    if how == "kb":
        if not value.isdigit():
            raise RenderError(f"vmw:Config {key}={value!r} is not a number")
        return str(int(value) * 1024)
    return value
