"""OVF descriptors: ``parse_ovf(text) -> OvfSpec``, a pure reading of the hardware.

Reads what an import needs from the first VirtualSystem: name, hardware family,
guest OS, CPUs, memory, controllers, disks (with their capacity and file),
CD-ROMs, NICs and the ``vmw:Config``/``vmw:ExtraConfig`` extras, honouring
allocation units. Absurd values are refused with ``OvfError`` rather than
handed to VMware. DOCTYPEs are refused outright: ``xml.etree`` would expand
their entities (a "billion laughs" descriptor). Rendering a ``.vmx`` from the
spec is ``ovfvmx.render_vmx``. This module must not touch files or run programs.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from toolkit.errors import OvfError

__all__ = [
    "Controller",
    "ControllerKind",
    "MAX_CPUS",
    "MAX_DESCRIPTOR_BYTES",
    "MAX_DISK_BYTES",
    "MAX_MEMORY_MB",
    "NS",
    "OvfCdrom",
    "OvfDisk",
    "OvfFile",
    "OvfNic",
    "OvfSpec",
    "TIB",
    "parse_ovf",
    "unit_bytes",
]

NS = {
    "ovf": "http://schemas.dmtf.org/ovf/envelope/1",
    "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData",
    "vssd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData",
    "vmw": "http://www.vmware.com/schema/ovf",
}
TIB = 1 << 40
MAX_DISK_BYTES = 64 * TIB
MAX_MEMORY_MB = 1 << 20  # 1 TiB
MAX_CPUS = 768
MAX_DESCRIPTOR_BYTES = 16 << 20
_UNIT_WORDS = {"byte": 0, "bytes": 0, "kilobytes": 10, "megabytes": 20, "gigabytes": 30, "terabytes": 40}
_UNIT_RE = re.compile(r"^byte\s*\*\s*(2|10)\s*\^\s*(\d+)$")


class ControllerKind(str, enum.Enum):
    IDE = "ide"
    SCSI = "scsi"
    SATA = "sata"
    NVME = "nvme"


_CONTROLLER_TYPES = {"5": ControllerKind.IDE, "6": ControllerKind.SCSI, "20": ControllerKind.SATA}
RT_CPU, RT_MEMORY, RT_NIC, RT_CDROM, RT_DISK, RT_VIDEO = "3", "4", "10", "15", "17", "24"


@dataclass(frozen=True, slots=True)
class Controller:
    instance_id: str
    kind: ControllerKind
    bus: int  # rasd:Address: scsi<bus>
    sub_type: str | None  # lsilogic, lsilogicsas, VirtualSCSI, buslogic, ...


@dataclass(frozen=True, slots=True)
class OvfFile:
    file_id: str
    href: str
    size: int | None


@dataclass(frozen=True, slots=True)
class OvfDisk:
    disk_id: str
    controller: str  # the parent Controller's instance_id
    unit: int
    capacity_bytes: int
    file: OvfFile | None  # None: an empty disk of that capacity
    format: str  # the fragment of ovf:format: streamOptimized, sparse, ...


@dataclass(frozen=True, slots=True)
class OvfCdrom:
    controller: str
    unit: int


@dataclass(frozen=True, slots=True)
class OvfNic:
    sub_type: str  # VmxNet3, E1000, E1000e, PCNet32
    network: str | None


@dataclass(frozen=True, slots=True)
class OvfSpec:
    name: str
    system_types: tuple[str, ...]  # "vmx-09", "virtualbox-2.2", ...
    system_type_line: int  # where VirtualSystemType sits (ovftool quotes it in errors)
    guest_os: str | None  # vmw:osType, e.g. "ubuntu64Guest"
    os_id: int | None  # OperatingSystemSection ovf:id (CIM code)
    cpus: int
    cores_per_socket: int
    memory_mb: int
    controllers: tuple[Controller, ...]
    disks: tuple[OvfDisk, ...]
    cdroms: tuple[OvfCdrom, ...]
    nics: tuple[OvfNic, ...]
    video_config: tuple[tuple[str, str], ...]  # vmw:Config inside the video Item
    config: tuple[tuple[str, str], ...]  # vmw:Config of the hardware section (API names)
    extra_config: tuple[tuple[str, str], ...]  # vmw:ExtraConfig: raw .vmx keys
    files: tuple[OvfFile, ...]

    def controller(self, instance_id: str) -> Controller:
        for found in self.controllers:
            if found.instance_id == instance_id:
                return found
        raise OvfError(f"no controller with InstanceID {instance_id!r}")

    @property
    def hardware_versions(self) -> tuple[int, ...]:
        """The VMware virtual hardware versions offered (``vmx-09`` -> 9); empty for other families."""
        return tuple(int(t[4:]) for t in self.system_types if re.fullmatch(r"vmx-\d+", t))


def _q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


def _root(text: str | bytes) -> ET.Element:
    if len(text) > MAX_DESCRIPTOR_BYTES:
        raise OvfError(f"OVF descriptor is {len(text)} bytes, more than {MAX_DESCRIPTOR_BYTES}")
    probe = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", probe, re.IGNORECASE):
        raise OvfError("OVF descriptor declares a DOCTYPE or entities; refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise OvfError(f"OVF descriptor is not well-formed XML: {exc}") from exc
    if root.tag != _q("ovf", "Envelope"):
        raise OvfError(f"not an OVF descriptor: root element is {root.tag!r}")
    return root


def parse_ovf(text: str | bytes) -> OvfSpec:
    """The first VirtualSystem of an OVF descriptor; ``OvfError`` if malformed or absurd."""
    root = _root(text)
    system = root.find("ovf:VirtualSystem", NS)
    hardware = None if system is None else system.find("ovf:VirtualHardwareSection", NS)
    if system is None or hardware is None:
        raise OvfError("OVF descriptor has no VirtualSystem with a VirtualHardwareSection")
    files = _files(root)
    items = hardware.findall("ovf:Item", NS)
    cpus, cores = _cpus(items)
    os_section = system.find("ovf:OperatingSystemSection", NS)
    return OvfSpec(
        name=_text(system, "ovf:Name") or system.get(_q("ovf", "id")) or "vm",
        system_types=tuple((_text(hardware, "ovf:System/vssd:VirtualSystemType") or "").split()),
        system_type_line=_line_of(text, "VirtualSystemType"),
        guest_os=None if os_section is None else os_section.get(_q("vmw", "osType")),
        os_id=None if os_section is None else _int_or_none(os_section.get(_q("ovf", "id"))),
        cpus=cpus,
        cores_per_socket=cores,
        memory_mb=_memory_mb(items),
        controllers=tuple(_controllers(items)),
        disks=tuple(_disks(root, items, files)),
        cdroms=tuple(OvfCdrom(_rasd(i, "Parent") or "", _address(i)) for i in _of_type(items, RT_CDROM)),
        nics=tuple(
            OvfNic(_rasd(i, "ResourceSubType") or "E1000", _rasd(i, "Connection")) for i in _of_type(items, RT_NIC)
        ),
        video_config=tuple(kv for i in _of_type(items, RT_VIDEO) for kv in _pairs(i, "Config")),
        config=tuple(_pairs(hardware, "Config")),
        extra_config=tuple(_pairs(hardware, "ExtraConfig")),
        files=tuple(files.values()),
    )


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path, NS)
    return None if found is None or found.text is None else found.text.strip()


def _rasd(item: ET.Element, tag: str) -> str | None:
    return _text(item, f"rasd:{tag}")


def _of_type(items: list[ET.Element], resource_type: str) -> list[ET.Element]:
    return [i for i in items if _rasd(i, "ResourceType") == resource_type]


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().lstrip("-").isdigit() else None


def _number(value: str | None, what: str) -> int:
    number = _int_or_none(value)
    if number is None:
        raise OvfError(f"OVF {what} is not an integer: {value!r}")
    return number


def _line_of(text: str | bytes, tag: str) -> int:
    probe = text if isinstance(text, str) else text.decode("utf-8", "replace")
    index = probe.find(tag)
    return probe.count("\n", 0, index) + 1 if index >= 0 else 0


def unit_bytes(units: str | None) -> int:
    """Bytes per unit of an OVF allocation-units string (``byte * 2^20`` -> 1 MiB)."""
    text = " ".join((units or "byte").lower().split())
    if text in _UNIT_WORDS:
        return 1 << _UNIT_WORDS[text]
    match = _UNIT_RE.match(text)
    if match is None or int(match.group(2)) > 60:
        raise OvfError(f"unsupported OVF allocation units {units!r}")
    return int(match.group(1)) ** int(match.group(2))  # type: ignore[no-any-return]


def _cpus(items: list[ET.Element]) -> tuple[int, int]:
    found = _of_type(items, RT_CPU)
    cpus = _number(_rasd(found[0], "VirtualQuantity"), "CPU count") if found else 1
    if not 1 <= cpus <= MAX_CPUS:
        raise OvfError(f"OVF asks for {cpus} CPUs (allowed 1 to {MAX_CPUS})")
    cores = found[0].find("vmw:CoresPerSocket", NS) if found else None
    per_socket = _number(cores.text, "CoresPerSocket") if cores is not None else 1
    return cpus, per_socket if 1 <= per_socket <= cpus and cpus % per_socket == 0 else 1


def _memory_mb(items: list[ET.Element]) -> int:
    found = _of_type(items, RT_MEMORY)
    if not found:
        return 512
    size = _number(_rasd(found[0], "VirtualQuantity"), "memory size")
    units = _rasd(found[0], "AllocationUnits") or "byte * 2^20"
    total = size * unit_bytes(units)
    if not 0 < total <= MAX_MEMORY_MB << 20:
        raise OvfError(f"OVF asks for {size} x {units!r} of memory (allowed up to 1 TiB)")
    return max(1, total >> 20)


def _controllers(items: list[ET.Element]) -> list[Controller]:
    found = []
    for item in items:
        kind = _CONTROLLER_TYPES.get(_rasd(item, "ResourceType") or "")
        if kind is not None:
            sub = _rasd(item, "ResourceSubType")
            if "nvme" in (sub or "").lower():  # ResourceType 20 with "vmware.nvme.controller"
                kind = ControllerKind.NVME
            found.append(Controller(_rasd(item, "InstanceID") or "", kind, _address(item, "Address"), sub))
    return found


def _address(item: ET.Element, tag: str = "AddressOnParent") -> int:
    value = _int_or_none(_rasd(item, tag))
    if value is not None and not 0 <= value < 64:
        raise OvfError(f"OVF device address {tag}={value} is out of range")
    return value or 0


def _files(root: ET.Element) -> dict[str, OvfFile]:
    files = {}
    for element in root.findall("ovf:References/ovf:File", NS):
        file_id, href = element.get(_q("ovf", "id")), element.get(_q("ovf", "href"))
        if not file_id or not href:
            raise OvfError("OVF References/File without ovf:id or ovf:href")
        files[file_id] = OvfFile(file_id, href, _int_or_none(element.get(_q("ovf", "size"))))
    return files


def _disks(root: ET.Element, items: list[ET.Element], files: dict[str, OvfFile]) -> list[OvfDisk]:
    declared = {d.get(_q("ovf", "diskId")): d for d in root.findall("ovf:DiskSection/ovf:Disk", NS)}
    disks = []
    for item in _of_type(items, RT_DISK):
        ref = (_rasd(item, "HostResource") or "").rsplit("/", 1)[-1]
        disk = declared.get(ref)
        if disk is None:
            raise OvfError(f"OVF disk item refers to unknown disk {ref!r}")
        disks.append(_disk(disk, ref, item, files))
    return disks


def _disk(disk: ET.Element, disk_id: str, item: ET.Element, files: dict[str, OvfFile]) -> OvfDisk:
    capacity = _number(disk.get(_q("ovf", "capacity")), f"capacity of disk {disk_id!r}")
    size = capacity * unit_bytes(disk.get(_q("ovf", "capacityAllocationUnits")))
    if not 0 < size <= MAX_DISK_BYTES:
        raise OvfError(f"OVF disk {disk_id!r} has an absurd capacity of {size} bytes (allowed up to 64 TiB)")
    file_ref = disk.get(_q("ovf", "fileRef"))
    if file_ref is not None and file_ref not in files:
        raise OvfError(f"OVF disk {disk_id!r} refers to unknown file {file_ref!r}")
    fmt = (disk.get(_q("ovf", "format")) or "").rsplit("#", 1)[-1]
    parent = _rasd(item, "Parent") or ""
    return OvfDisk(disk_id, parent, _address(item), size, files.get(file_ref or ""), fmt)


def _pairs(parent: ET.Element, tag: str) -> list[tuple[str, str]]:
    pairs = []
    for element in parent.findall(f"vmw:{tag}", NS):
        key, value = element.get(_q("vmw", "key")), element.get(_q("vmw", "value"))
        if key:
            pairs.append((key, value or ""))
    return pairs
