"""The reference's whole BOSH lifecycle on each simulated product, as its ``cpi_test.go`` runs it on VMware."""

from __future__ import annotations

from pathlib import Path

from tests.reference.conftest import NETWORKS, ReferenceCpi
from toolkit.formats.iso import read_settings_iso
from toolkit.vmware.vmx import Vmx
from vmtk_sim import AgentStatus, Power, Product

ENV = {"bosh": {"password": "$6$salt$hash"}}


def _settings(reference: ReferenceCpi, vm: str) -> dict[str, object]:
    return read_settings_iso((reference.store / "env-isos" / f"vm-{vm}.iso").read_bytes())


def test_the_whole_lifecycle(reference: ReferenceCpi, product: Product, stemcell_image: Path) -> None:
    assert reference.call("info") == {"stemcell_formats": ["general-ovf", "vsphere-ovf"]}
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    assert reference.vmx(f"cs-{stemcell}").is_file()
    vms = [
        reference.call("create_vm", f"agent-{n}", stemcell, {"cpu": 2, "ram": 1024, "disk": 2048}, NETWORKS, [], ENV)
        for n in (1, 2)
    ]
    for vm in vms:  # human-readable names on: created powered off, with their own disk
        disk = f"vm-{vm}-disk1.vmdk" if product is Product.PLAYER else f"cs-{stemcell}-disk1-cl1.vmdk"
        assert (reference.store / f"vm-{vm}" / disk).is_file()
        assert reference.host.vm(str(reference.vmx(f"vm-{vm}"))).power is Power.OFF
    assert reference.call("has_vm", vms[0]) is True
    assert reference.call("set_vm_metadata", vms[0], {"instance_group": "db", "deployment": "d", "index": "0"}) is None
    assert reference.wait_for_agent(f"vm-{vms[0]}") is AgentStatus.RUNNING  # its settings CD-ROM is readable
    assert Vmx.parse(reference.vmx(f"vm-{vms[0]}").read_bytes()).get("displayname") == "db_d_0"
    disk = reference.call("create_disk", 1024, {}, vms[0])
    assert reference.call("attach_disk", vms[0], disk) is None
    assert reference.wait_for_agent(f"vm-{vms[0]}") is AgentStatus.RUNNING
    hint = {"path": "/dev/sdc", "volume_id": "2", "lun": "0"}  # hard-coded by the reference, whatever the slot
    assert _settings(reference, vms[0])["disks"] == {"system": "0", "ephemeral": "1", "persistent": {disk: hint}}
    assert reference.call("detach_disk", vms[0], disk) is None
    assert _settings(reference, vms[0])["disks"]["persistent"] == {}  # type: ignore[index]
    for vm in vms:
        assert reference.call("delete_vm", vm) is None
        assert not reference.vmx(f"vm-{vm}").exists()
    assert reference.call("has_vm", vms[0]) is False
    assert reference.call("delete_disk", disk) is None
    assert not (reference.store / "persistent-disks" / f"disk-{disk}.vmdk").exists()
    assert reference.call("delete_stemcell", stemcell) is None
    assert not reference.vmx(f"cs-{stemcell}").exists()
    assert reference.host.vm(str(reference.vmx(f"vm-{vms[0]}"))).power is Power.OFF


def test_create_vm_starts_the_vm_when_names_are_not_human(
    tmp_path: Path, product: Product, stemcell_image: Path
) -> None:
    reference = ReferenceCpi(tmp_path, product, human_names=False)
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    vm = reference.call("create_vm", "agent-1", stemcell, {"disk": 0}, NETWORKS, [], ENV)
    assert reference.wait_for_agent(f"vm-{vm}") is AgentStatus.RUNNING
    assert _settings(reference, vm)["disks"] == {"system": "0", "ephemeral": None, "persistent": None}
    assert reference.call("delete_vm", vm) is None
