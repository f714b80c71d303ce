from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import DiskError, VmxError
from toolkit.vmware.devices import (
    LIMITS,
    Attachment,
    Bus,
    ConnectionType,
    Nic,
    Slot,
    attach_cdrom,
    attach_disk,
    cdroms,
    detach,
    display_name,
    ensure_controller,
    free_slot,
    hard_disks,
    nics,
    remove_nics,
    set_cpus,
    set_display_name,
    set_guestinfo,
    set_memory_mb,
    set_nic,
)
from toolkit.vmware.vmx import Vmx

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vmx"


def fixture(name: str) -> Vmx:
    return Vmx.parse((FIXTURES / name).read_bytes(), source=name)


def doc(*lines: str) -> Vmx:
    return Vmx.parse(("\n".join(['.encoding = "UTF-8"', *lines]) + "\n").encode())


def slots(attachments: list[Attachment]) -> list[str]:
    return [str(a.slot) for a in attachments]


def _slots_on(bus: Bus) -> st.SearchStrategy[Slot]:
    controllers, units = LIMITS[bus]
    unit = st.integers(0, units - 1).filter(lambda u: bus is not Bus.SCSI or u != 7)
    return st.builds(Slot, st.just(bus), st.integers(0, controllers - 1), unit)


valid_slots = st.sampled_from(list(Bus)).flatmap(_slots_on)


# --- slots --------------------------------------------------------------------------------


@given(valid_slots)
def test_a_slot_prints_and_parses_back(slot: Slot) -> None:
    assert Slot.parse(str(slot)) == slot
    assert Slot.parse(str(slot).upper()) == slot


@pytest.mark.parametrize(
    "text", ["scsi0:7", "scsi4:0", "scsi0:16", "sata0:30", "sata4:0", "ide0:2", "ide2:0", "nvme0:15", "usb0:1", "scsi0"]
)
def test_addresses_vmware_would_ignore_are_refused(text: str) -> None:
    with pytest.raises(DiskError, match="invalid device slot"):
        Slot.parse(text)


# --- NICs ----------------------------------------------------------------------------------


def test_nics_read_static_and_generated_addresses_from_the_fixtures() -> None:
    assert nics(fixture("bosh-cpi-vm.vmx")) == [Nic(0, ConnectionType.CUSTOM, "vmnet2", "00:50:56:3a:1b:2c", "vmxnet3")]
    assert nics(fixture("workstation17-linux-after-run.vmx")) == [
        Nic(0, ConnectionType.NAT, None, "00:0c:29:2a:0c:99", "e1000")
    ]
    assert nics(fixture("windows-host-cp1252.vmx"))[1] == Nic(1, ConnectionType.CUSTOM, "VMnet4", None, "e1000e")


def test_absent_nic_keys_mean_vmwares_defaults_and_absent_adapters_are_skipped() -> None:
    found = nics(fixture("linux-shebang.vmx"))  # ethernet2.present = "FALSE"
    assert [n.index for n in found] == [0, 1]
    assert found[0] == Nic(0, ConnectionType.BRIDGED, None, None, "e1000")  # no connectionType: bridged
    assert nics(doc('ethernet3.present = "true"'))[0].virtual_dev == "vlance"


def test_an_unknown_connection_type_is_an_error_naming_it() -> None:
    with pytest.raises(VmxError, match="'pvn'"):
        nics(doc('ethernet0.present = "TRUE"', 'ethernet0.connectionType = "pvn"'))


def test_set_nic_with_a_mac_writes_a_static_address_and_reads_back() -> None:
    vmx = fixture("workstation17-linux-after-run.vmx")
    set_nic(vmx, Nic(0, ConnectionType.CUSTOM, "vmnet3", "00:50:56:0a:0b:0c"))
    assert vmx["ethernet0.addressType"] == "static" and vmx["ethernet0.address"] == "00:50:56:0A:0B:0C"
    assert vmx["ethernet0.pciSlotNumber"] == "33"  # keys the Nic does not describe are kept
    assert nics(vmx) == [Nic(0, ConnectionType.CUSTOM, "vmnet3", "00:50:56:0a:0b:0c", "vmxnet3")]


def test_set_nic_without_a_mac_drops_a_stale_static_address_and_vnet() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    set_nic(vmx, Nic(0, ConnectionType.NAT, None, None, "e1000e"))
    assert "ethernet0.address" not in vmx and "ethernet0.vnet" not in vmx
    assert nics(vmx) == [Nic(0, ConnectionType.NAT, None, None, "e1000e")]


@pytest.mark.parametrize(
    "nic",
    [
        Nic(10, ConnectionType.NAT, None, None),
        Nic(0, ConnectionType.CUSTOM, None, None),
        Nic(0, ConnectionType.NAT, "vmnet8", None),
        Nic(0, ConnectionType.NAT, None, "00:50:56:40:00:00"),
        Nic(0, ConnectionType.NAT, None, "00:0c:29:00:00:01"),
        Nic(0, ConnectionType.NAT, None, "not-a-mac"),
        Nic(0, ConnectionType.NAT, None, None, "virtio"),
    ],
)
def test_invalid_nics_are_refused_before_any_edit(nic: Nic) -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    before = vmx.dumps()
    with pytest.raises(VmxError):
        set_nic(vmx, nic)
    assert vmx.dumps() == before


def test_remove_nics_removes_every_ethernet_key_and_nothing_else() -> None:
    vmx = fixture("large-500-lines.vmx")
    count = len(vmx)
    remove_nics(vmx)
    assert nics(vmx) == [] and not any(k.lower().startswith("ethernet") for k in vmx)
    assert len(vmx) == count - 80


# --- disks and CD-ROMs -------------------------------------------------------------------------


def test_disks_and_cdroms_of_the_bosh_shaped_vm() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    disks = hard_disks(vmx)
    assert slots(disks) == ["scsi0:0", "scsi0:1", "scsi0:2"]
    assert disks[2].mode == "independent-persistent" and disks[0].file_name == "image-cl1.vmdk"
    drives = cdroms(vmx)
    assert slots(drives) == ["ide0:0", "ide1:0"]
    assert drives[0].file_name.endswith("/env.iso") and drives[1] == Attachment(
        Slot.parse("ide1:0"), "", "atapi-cdrom", None
    )


def test_cdroms_come_in_linux_guest_order_ide_sata_scsi_then_controller_and_unit() -> None:
    lines = []
    for slot in ("scsi0:1", "sata1:0", "sata0:2", "ide1:1", "ide0:1", "scsi1:0"):
        lines += [f'{slot}.present = "TRUE"', f'{slot}.deviceType = "cdrom-image"', f'{slot}.fileName = "{slot}.iso"']
    lines += ['scsi0.present = "TRUE"', 'scsi1.present = "TRUE"', 'sata0.present = "TRUE"', 'sata1.present = "TRUE"']
    assert slots(cdroms(doc(*lines))) == ["ide0:1", "ide1:1", "sata0:2", "sata1:0", "scsi0:1", "scsi1:0"]


def test_devices_vmware_ignores_are_not_listed() -> None:
    vmx = doc(
        'scsi0.present = "FALSE"',
        'scsi0:0.present = "TRUE"',
        'scsi0:0.fileName = "off-controller.vmdk"',
        'sata0:0.present = "TRUE"',
        'sata0:0.fileName = "no-controller.vmdk"',
        'scsi1.present = "TRUE"',
        'scsi1:16.present = "TRUE"',
        'scsi1:16.fileName = "bad-unit.vmdk"',
        'scsi1:1.present = "FALSE"',
        'scsi1:1.fileName = "absent.vmdk"',
        'ide0:0.present = "TRUE"',
        'ide0:0.fileName = "ide.vmdk"',
    )
    assert [d.file_name for d in hard_disks(vmx)] == ["ide.vmdk"]


def test_attach_disk_takes_a_free_slot_and_enables_its_controller() -> None:
    vmx = fixture("ovftool-image.vmx")
    attach_disk(vmx, Slot.parse("scsi1:3"), "/store/disk-1.vmdk", mode="independent-persistent")
    assert vmx["scsi1.present"] == "TRUE" and vmx["scsi1.virtualDev"] == "lsilogic"
    assert hard_disks(vmx)[-1] == Attachment(
        Slot.parse("scsi1:3"), "/store/disk-1.vmdk", "disk", "independent-persistent"
    )


def test_attach_disk_refuses_a_busy_slot_and_unknown_modes() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    with pytest.raises(DiskError, match="already in use"):
        attach_disk(vmx, Slot.parse("scsi0:1"), "other.vmdk")
    with pytest.raises(DiskError, match="disk mode"):
        attach_disk(vmx, Slot.parse("scsi0:3"), "other.vmdk", mode="sometimes")
    assert vmx.dumps() == (FIXTURES / "bosh-cpi-vm.vmx").read_bytes()


def test_attach_disk_clears_leftovers_of_an_absent_device() -> None:
    vmx = doc('scsi0.present = "TRUE"', 'scsi0:1.present = "FALSE"', 'scsi0:1.deviceType = "cdrom-image"')
    attach_disk(vmx, Slot.parse("scsi0:1"), "d.vmdk")
    assert "scsi0:1.deviceType" not in vmx and slots(hard_disks(vmx)) == ["scsi0:1"]


def test_attach_cdrom_loads_the_image_into_the_existing_stemcell_drive() -> None:
    vmx = fixture("ovftool-image.vmx")  # ide0:0 is an empty atapi-cdrom, start disconnected
    attach_cdrom(vmx, Slot.parse("ide0:0"), "env.iso")
    first = cdroms(vmx)[0]
    assert first == Attachment(Slot.parse("ide0:0"), "env.iso", "cdrom-image", None)
    assert vmx["ide0:0.startConnected"] == "TRUE"
    assert "ide0:0.clientDevice" not in vmx and "ide0:0.autodetect" not in vmx
    assert vmx["ide0:0.allowguestconnectioncontrol"] == "true"


def test_attach_cdrom_refuses_disks_and_nvme() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    with pytest.raises(DiskError, match="holds a disk"):
        attach_cdrom(vmx, Slot.parse("scsi0:0"), "env.iso")
    with pytest.raises(DiskError, match="NVMe"):
        attach_cdrom(vmx, Slot.parse("nvme0:0"), "env.iso")
    with pytest.raises(DiskError, match="no file name"):
        attach_cdrom(vmx, Slot.parse("ide0:1"), "")


def test_detach_removes_every_key_of_the_slot_only() -> None:
    data = (FIXTURES / "large-500-lines.vmx").read_bytes()
    vmx = Vmx.parse(data)
    detach(vmx, Slot.parse("scsi0:1"))
    assert not any(k.startswith("scsi0:1.") for k in vmx) and "scsi0:10.fileName" in vmx
    assert len(data.splitlines()) - len(vmx.dumps().splitlines()) == 4
    detach(vmx, Slot.parse("scsi0:1"))  # already empty: nothing to do
    assert "scsi0:1" not in slots(hard_disks(vmx))


def test_free_slot_skips_the_scsi_controller_unit_and_reports_full_controllers() -> None:
    vmx = doc('scsi0.present = "TRUE"', *(f'scsi0:{u}.present = "TRUE"' for u in range(7)))
    assert free_slot(vmx) == Slot.parse("scsi0:8")
    big = fixture("large-500-lines.vmx")
    with pytest.raises(DiskError, match="no free unit on scsi1"):
        free_slot(big, Bus.SCSI, 1)
    assert free_slot(big, Bus.SATA, 0) == Slot.parse("sata0:10")
    assert free_slot(big, Bus.IDE, 1) == Slot.parse("ide1:0")
    with pytest.raises(DiskError, match="not a valid controller"):
        free_slot(big, Bus.IDE, 2)


@given(st.sets(st.integers(0, 15)))
def test_free_slot_never_returns_unit_7_or_a_busy_unit(busy: set[int]) -> None:
    vmx = doc('scsi0.present = "TRUE"', *(f'scsi0:{u}.present = "TRUE"' for u in busy if u != 7))
    try:
        slot = free_slot(vmx)
    except DiskError:
        assert busy | {7} == set(range(16))
    else:
        assert slot.unit != 7 and slot.unit not in busy and slot.unit == min(set(range(16)) - busy - {7})


def test_free_slot_starts_at_first_unit_and_skips_cdroms_there() -> None:
    vmx = doc(
        'scsi0.present = "TRUE"',
        'scsi0:3.present = "TRUE"',
        'scsi0:3.deviceType = "cdrom-image"',
    )
    assert free_slot(vmx) == Slot.parse("scsi0:0")
    assert free_slot(vmx, first_unit=2) == Slot.parse("scsi0:2")
    assert free_slot(vmx, first_unit=3) == Slot.parse("scsi0:4")
    assert free_slot(vmx, first_unit=7) == Slot.parse("scsi0:8")


def test_ensure_controller_keeps_an_existing_model_and_validates_new_ones() -> None:
    vmx = fixture("large-500-lines.vmx")
    ensure_controller(vmx, Bus.SCSI, 1, "lsilogic")
    assert vmx["scsi1.virtualDev"] == "pvscsi"
    ensure_controller(vmx, Bus.SCSI, 2, "pvscsi")
    assert vmx["scsi2.virtualDev"] == "pvscsi" and vmx["scsi2.present"] == "TRUE"
    with pytest.raises(DiskError, match="SCSI controller"):
        ensure_controller(vmx, Bus.SCSI, 3, "virtio-scsi")
    with pytest.raises(DiskError, match="not a valid controller"):
        ensure_controller(vmx, Bus.NVME, 4)


# --- name, size, guestinfo ---------------------------------------------------------------------


def test_display_name_reads_any_key_case_and_writes_in_place() -> None:
    vmx = fixture("ovftool-image.vmx")
    assert display_name(vmx) == "vm-virtualmachine"
    set_display_name(vmx, 'vm "quoted"\nname')
    assert b'displayname = "vm |22quoted|22|0Aname"\n' in vmx.dumps()
    assert display_name(Vmx.new()) is None
    with pytest.raises(VmxError):
        set_display_name(vmx, "  ")


def test_set_cpus_keeps_a_dividing_cores_per_socket_and_fixes_one_that_does_not() -> None:
    vmx = fixture("fusion-bundle.vmx")  # coresPerSocket 2
    set_cpus(vmx, 6)
    assert (vmx["numvcpus"], vmx["cpuid.coresPerSocket"]) == ("6", "2")
    set_cpus(vmx, 3)
    assert (vmx["numvcpus"], vmx["cpuid.coresPerSocket"]) == ("3", "3")
    for bad in (0, -1, True, 2.0):
        with pytest.raises(VmxError):
            set_cpus(vmx, bad)  # type: ignore[arg-type]


def test_memory_must_be_a_positive_multiple_of_4_mb() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    set_memory_mb(vmx, 3072)
    assert vmx["memsize"] == "3072"
    for bad in (4094, 0, -4, True):
        with pytest.raises(VmxError, match="multiple of 4"):
            set_memory_mb(vmx, bad)
    assert vmx["memsize"] == "3072"


def test_set_guestinfo_prefixes_the_key_once() -> None:
    vmx = fixture("bosh-cpi-vm.vmx")
    set_guestinfo(vmx, "userdata", "bmV3")
    set_guestinfo(vmx, "guestinfo.userdata.encoding", "base64")
    set_guestinfo(vmx, "metadata", "e30=")
    assert vmx["guestinfo.userdata"] == "bmV3" and vmx.keys()[-1] == "guestinfo.metadata"
    assert sum(k.lower().startswith("guestinfo.userdata") for k in vmx) == 2
    with pytest.raises(VmxError):
        set_guestinfo(vmx, "guestinfo.", "x")
