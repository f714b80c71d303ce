"""OVF parsing and .vmx rendering against the VMware-written reference, and hostile descriptors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import OvfError
from toolkit.formats.ovf import ControllerKind, parse_ovf, unit_bytes
from toolkit.formats.ovfvmx import guest_os, render_vmx
from toolkit.vmware.devices import Bus, Slot, cdroms, hard_disks, nics
from toolkit.vmware.vmx import Vmx

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
OVF = (REFERENCE / "image.ovf").read_text()


def test_the_reference_ovf_parses_to_its_hardware() -> None:
    spec = parse_ovf(OVF)
    assert (spec.name, spec.system_types, spec.guest_os) == ("test", ("vmx-09",), "ubuntu64Guest")
    assert (spec.cpus, spec.memory_mb, spec.hardware_versions) == (1, 512, (9,))
    assert [(c.kind, c.bus, c.sub_type) for c in spec.controllers] == [
        (ControllerKind.SCSI, 0, "lsilogic"),
        (ControllerKind.IDE, 0, None),
    ]
    (disk,) = spec.disks
    assert (disk.capacity_bytes, disk.format, disk.unit, disk.file and disk.file.href) == (
        1 << 20,
        "streamOptimized",
        0,
        "image.vmdk",
    )
    assert len(spec.cdroms) == 1 and spec.nics == ()
    assert ("firmware", "bios") in spec.config and ("videoRamSizeInKB", "4096") in spec.video_config


def test_rendering_the_reference_ovf_gives_ovftools_vmx_byte_for_byte() -> None:
    vmx = render_vmx(parse_ovf(OVF), name="vm-virtualmachine", disk_file="image.vmdk")
    assert vmx.dumps() == (REFERENCE / "image.vmx").read_bytes()


def test_the_rendered_vmx_reads_back_through_the_device_views() -> None:
    vmx = Vmx.parse(render_vmx(parse_ovf(OVF), name="cs-1").dumps())
    assert [(d.slot, d.file_name, d.mode) for d in hard_disks(vmx)] == [
        (Slot(Bus.SCSI, 0, 0), "cs-1-disk1.vmdk", "persistent")
    ]
    assert [c.slot for c in cdroms(vmx)] == [Slot(Bus.IDE, 0, 0)]
    assert vmx["displayname"] == "cs-1" and vmx["virtualhw.version"] == "9" and vmx["config.version"] == "8"


def _ovf(hardware: str, *, disks: str = "", references: str = "", system_type: str = "vmx-13", extra: str = "") -> str:
    return f"""<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
 xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>{references}</References>
  <DiskSection>{disks}</DiskSection>
  <VirtualSystem ovf:id="box">
    <VirtualHardwareSection>
      <System><vssd:VirtualSystemType>{system_type}</vssd:VirtualSystemType></System>
      {hardware}
      {extra}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>"""


def _item(resource_type: int, **fields: str) -> str:
    body = "".join(f"<rasd:{k}>{v}</rasd:{k}>" for k, v in fields.items())
    return f"<Item>{body}<rasd:ResourceType>{resource_type}</rasd:ResourceType></Item>"


def test_units_nics_sata_several_disks_and_extra_config() -> None:
    text = _ovf(
        _item(3, VirtualQuantity="4")
        + _item(4, VirtualQuantity="2", AllocationUnits="byte * 2^30")
        + _item(20, InstanceID="1", Address="0")
        + _item(6, InstanceID="2", Address="1", ResourceSubType="VirtualSCSI")
        + _item(17, Parent="1", AddressOnParent="3", HostResource="ovf:/disk/d1")
        + _item(17, Parent="2", AddressOnParent="0", HostResource="ovf:/disk/d2")
        + _item(10, ResourceSubType="VmxNet3", Connection="VM Network"),
        disks='<Disk ovf:diskId="d1" ovf:capacity="3" ovf:capacityAllocationUnits="byte * 2^30"/>'
        '<Disk ovf:diskId="d2" ovf:capacity="1048576" ovf:fileRef="f2" ovf:format="x#streamOptimized"/>',
        references='<File ovf:id="f2" ovf:href="two.vmdk"/>',
        extra=(
            '<vmw:ExtraConfig vmw:key="nvram" vmw:value="ovf:/file/f9"/>'
            '<vmw:ExtraConfig vmw:key="guestinfo.a" vmw:value="b"/>'
        ),
    )
    spec = parse_ovf(text)
    assert (spec.name, spec.cpus, spec.memory_mb) == ("box", 4, 2048)
    assert [d.capacity_bytes for d in spec.disks] == [3 << 30, 1 << 20] and spec.disks[0].file is None
    vmx = render_vmx(spec, name="web")
    assert [(str(d.slot), d.file_name) for d in hard_disks(vmx)] == [
        ("sata0:3", "web-disk1.vmdk"),
        ("scsi1:0", "web-disk2.vmdk"),
    ]
    assert vmx["scsi1.virtualDev"] == "pvscsi" and vmx["sata0.present"] == "TRUE"
    assert [(n.index, n.virtual_dev) for n in nics(vmx)] == [(0, "vmxnet3")]
    assert vmx["nvram"] == "web-file1.nvram" and vmx["guestinfo.a"] == "b" and vmx["numvcpus"] == "4"
    assert "guestinfo.a" not in render_vmx(spec, name="web", allow_extra_config=False)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope/>', "DOCTYPE"),
        ("<Envelope><unclosed></Envelope>", "not well-formed"),
        ("<html/>", "not an OVF descriptor"),
        (
            _ovf("").replace("<VirtualHardwareSection>", "<X>").replace("</VirtualHardwareSection>", "</X>"),
            "no VirtualSystem",
        ),
        (_ovf(_item(3, VirtualQuantity="1000")), "1000 CPUs"),
        (_ovf(_item(3, VirtualQuantity="0")), "0 CPUs"),
        (_ovf(_item(3, VirtualQuantity="many")), "CPU count is not an integer"),
        (_ovf(_item(4, VirtualQuantity="2", AllocationUnits="byte * 2^40")), "memory"),
        (_ovf(_item(4, VirtualQuantity="-5")), "memory"),
        (_ovf(_item(4, VirtualQuantity="5", AllocationUnits="furlongs")), "allocation units"),
        (_ovf(_item(17, HostResource="ovf:/disk/nope")), "unknown disk 'nope'"),
    ],
)
def test_malformed_or_absurd_descriptors_are_refused(text: str, match: str) -> None:
    with pytest.raises(OvfError, match=match):
        parse_ovf(text)


@pytest.mark.parametrize(
    ("capacity", "units"),
    [("65", "byte * 2^40"), ("-1", "byte"), ("0", "byte"), ("1", "byte * 2^61")],
)
def test_absurd_disk_capacities_are_refused(capacity: str, units: str) -> None:
    text = _ovf(
        _item(6, InstanceID="1") + _item(17, Parent="1", HostResource="ovf:/disk/d"),
        disks=f'<Disk ovf:diskId="d" ovf:capacity="{capacity}" ovf:capacityAllocationUnits="{units}"/>',
    )
    with pytest.raises(OvfError):
        parse_ovf(text)


def test_a_disk_on_scsi_unit_7_is_refused_when_rendering() -> None:
    text = _ovf(
        _item(6, InstanceID="1") + _item(17, Parent="1", AddressOnParent="7", HostResource="ovf:/disk/d"),
        disks='<Disk ovf:diskId="d" ovf:capacity="1"/>',
    )
    with pytest.raises(OvfError, match="unit 7"):
        render_vmx(parse_ovf(text), name="x")


def test_foreign_hardware_families_are_reported_with_their_line() -> None:
    spec = parse_ovf(_ovf("", system_type="virtualbox-2.2"))
    assert spec.hardware_versions == () and spec.system_types == ("virtualbox-2.2",)
    assert _line_of_type(_ovf("", system_type="virtualbox-2.2")) == spec.system_type_line


def _line_of_type(text: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if "VirtualSystemType" in line)


@pytest.mark.parametrize(
    ("os_type", "expected"),
    [
        ("ubuntu64Guest", "ubuntu-64"),
        ("otherLinux64Guest", "otherlinux-64"),
        ("windows9_64Guest", "windows9-64"),
        ("rhel7_64Guest", "rhel7-64"),
        ("ubuntuGuest", "ubuntu"),
        ("windows7Server64Guest", "windows7srv-64"),
    ],
)
def test_guest_os_ids_map_to_vmx_spellings(os_type: str, expected: str) -> None:
    spec = parse_ovf(OVF.replace('vmw:osType="ubuntu64Guest"', f'vmw:osType="{os_type}"'))
    assert guest_os(spec) == expected


@given(st.integers(min_value=0, max_value=60), st.sampled_from(["byte * 2^{}", "byte*2^{}", "BYTE  *  2 ^ {}"]))
def test_binary_units_are_powers_of_two(exponent: int, form: str) -> None:
    assert unit_bytes(form.format(exponent)) == 2**exponent
