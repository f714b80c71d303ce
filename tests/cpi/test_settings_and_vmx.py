"""Pure parts: agent settings updates, MAC format, where disks go in a .vmx."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpi import agent_env, vmx_edit
from cpi.config import AgentOptions
from cpi.macs import MAC_SPACE, format_mac
from toolkit.errors import DiskError
from toolkit.vmware.vmx import Vmx
from vmtk_sim.makevm import vmx_text

AGENT = AgentOptions("nats://u:p@10.0.0.6:4222", ("pool.ntp.org",))
cids = st.uuids().map(str)


def settings() -> dict:
    networks = agent_env.with_macs({"a": {"type": "manual"}, "v": {"type": "vip"}}, {"a": "00:50:56:0A:0B:0C"})
    return agent_env.for_vm(
        agent_id="ag", vm_cid="vm", networks=networks, env={"bosh": {}}, agent=AGENT, ephemeral=False
    )


def test_settings_shape_the_agent_decodes() -> None:
    built = settings()
    assert built["disks"] == {"system": "0", "ephemeral": None, "persistent": {}}
    assert built["networks"]["a"]["mac"] == "00:50:56:0a:0b:0c" and "mac" not in built["networks"]["v"]
    assert "blobstore" not in built and built["ntp"] == ["pool.ntp.org"]


@given(st.lists(st.tuples(cids, st.sampled_from(["2", "3", "4", "5"])), max_size=6))
def test_attach_then_detach_restores_the_settings(pairs: list[tuple[str, str]]) -> None:
    original = settings()
    current = original
    for cid, hint in pairs:
        current = agent_env.attach_persistent(current, cid, hint)
    assert agent_env.persistent(current) == dict(pairs)
    for cid, _ in pairs:
        current = agent_env.detach_persistent(current, cid)
    assert current == original
    assert original == settings()  # never mutated in place


@given(st.integers(min_value=0, max_value=MAC_SPACE - 1))
def test_macs_stay_in_vmwares_manual_range(n: int) -> None:
    mac = format_mac(n)
    octets = mac.split(":")
    assert mac == mac.lower() and octets[:3] == ["00", "50", "56"] and int(octets[3], 16) <= 0x3F
    assert int("".join(octets[3:]), 16) == n


def test_mac_outside_the_range_is_refused() -> None:
    with pytest.raises(ValueError):
        format_mac(MAC_SPACE)


def test_persistent_disks_take_units_2_to_15_never_7_then_refuse() -> None:
    vmx = Vmx.parse(vmx_text("t", 512, "t-disk1.vmdk", None).encode())
    hints = [vmx_edit.attach_persistent(vmx, f"/s/disks/disk-{n}.vmdk") for n in range(13)]
    assert hints == [str(u) for u in (2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15)]
    with pytest.raises(DiskError):
        vmx_edit.attach_persistent(vmx, "/s/disks/disk-x.vmdk")
    assert len(vmx_edit.persistent_attachments(vmx, "/s/disks")) == 13
    assert vmx_edit.persistent_attachments(vmx, "/s/disk") == []


def test_a_persistent_disk_goes_past_a_cdrom_drive_on_scsi0() -> None:
    vmx = Vmx.parse(vmx_text("t", 512, "t-disk1.vmdk", None).encode())
    vmx.set("scsi0:2.present", "TRUE")
    vmx.set("scsi0:2.deviceType", "cdrom-image")
    vmx.set("scsi0:2.fileName", "tools.iso")
    assert vmx_edit.attach_persistent(vmx, "/s/disks/disk-a.vmdk") == "3"
    assert vmx["scsi0:2.fileName"] == "tools.iso" and vmx["scsi0:2.deviceType"] == "cdrom-image"


@pytest.mark.parametrize(
    ("metadata", "name"),
    [
        ({"instance_group": "director", "deployment": "bosh", "index": "0", "name": "bosh/0"}, "director_bosh_0"),
        ({"name": "zookeeper/ce7d2040"}, "zookeeper/ce7d2040"),
        ({"name": 'evil"\n|22name'}, "evil---22name"),
        ({"deployment": "d"}, None),
    ],
)
def test_human_readable_names(metadata: dict, name: str | None) -> None:
    assert vmx_edit.human_name(metadata) == name
