"""The CPI lifecycle through JSON requests (contract §5.8 B/C): in process, over SSH, as bosh runs it, on a real host.

Every test runs on the in-process simulator, on the simulator reached through
the CPI's SSH runner (a real OpenSSH server on 127.0.0.1; skipped when none is
installed), through the ``bosh-vmrun-cpi`` executable (``[exe]``: one process
per request over ``vmrun-sim`` processes, as the bosh CLI runs the CPI) and on
a real VMware host, the latter skipped unless
``VMTK_REAL_VMRUN`` and ``VMTK_REAL_STEMCELL`` are set (``tests/cpi/hosts.py``
lists the variables). ``needs_sim`` tests use powers only the simulator has and
say which; their portable halves are separate tests.

Over SSH each vmrun run is an SSH exec of a fresh vmrun-sim (a few tenths of a
second), so only a representative subset runs there: every CPI method this
module calls, each error path and the run-counting tests; ``not_remote``
marks the rest with the test that covers the same path over SSH.
``create_stemcell`` runs on every host: on the real one each template is
imported with it, elsewhere ``test_create_stemcell_imports_the_fixture_image``
imports ``fixtures/stemcell/image`` (over SSH: uploaded to the host's image
cache, ``cpi.images``).

Through the executable a request costs a CPI process and each vmrun run a
vmrun-sim process (together about a second per test here), so a representative
subset runs there too, chosen for the process boundary: every CPI method, each
error path (errors must still exit 0 with one JSON object), the API v1 shapes,
the result and log a director reads, the run counts and the rollback after a
fault (``sim.json`` reaches vmrun-sim processes). ``not_spawned`` marks the
rest with the test that covers the same path through the executable;
``tests/cpi/test_hosts.py`` checks from the CPI processes' logs that every
method ran there.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cpi.client import ENV, MBUS, Cpi, iso_settings, vmx_of
from toolkit.vmware import devices
from toolkit.vmware.vmx import Vmx
from vmtk_sim import AgentStatus, Power

FIXTURE_IMAGE = Path(__file__).resolve().parents[2] / "fixtures" / "stemcell" / "image"
TWO_NETWORKS = {
    "private": {
        "type": "manual",
        "ip": "10.0.0.5",
        "netmask": "255.255.255.0",
        "gateway": "10.0.0.1",
        "cloud_properties": {"name": "vmnet1", "type": "hostonly"},
    },
    "outbound": {"type": "dynamic", "default": ["dns", "gateway"], "cloud_properties": {"type": "nat"}},
}

CREATE_ENV_COUNTED = "test_create_env_sequence_costs_at_most_12_runs_and_leaves_a_running_agent"
ROLLBACK_ELSEWHERE = pytest.mark.not_remote("the rollback runs over SSH with 'start' canceled")
ROLLBACK_SPAWNED = pytest.mark.not_spawned("the rollback runs through the executable with 'start' canceled")


@pytest.fixture
def make_cpi(make_host_cpi: Callable[..., Cpi]) -> Callable[..., Cpi]:
    """Here a Cpi is on the simulator or on the real host, by parametrisation."""
    return make_host_cpi


@pytest.fixture
def cpi(make_cpi: Callable[..., Cpi]) -> Cpi:
    return make_cpi()


@pytest.mark.not_remote(f"the same sequence runs over SSH in {CREATE_ENV_COUNTED}")
@pytest.mark.not_spawned(f"the same sequence runs through the executable in {CREATE_ENV_COUNTED}")
def test_create_env_sequence_leaves_nothing_behind(cpi: Cpi) -> None:
    cpi("info")
    stemcell = cpi.new_stemcell()
    vm, _networks = cpi("create_vm", "agent-1", stemcell, {"cpu": 2, "ram": 2048, "disk": 1024}, cpi.manual(), [], ENV)
    assert cpi.is_running(vm)
    cpi("set_vm_metadata", vm, {"deployment": "bosh", "instance_group": "director", "index": "0", "name": "bosh/0"})
    disk = cpi("create_disk", 2048, {}, vm)
    assert cpi("attach_disk", vm, disk) == "2"
    assert cpi.is_running(vm)
    cpi("set_disk_metadata", disk, {"deployment": "bosh", "attached_at": "now"})
    assert cpi("has_vm", vm) is True
    cpi("detach_disk", vm, disk)
    cpi("delete_vm", vm)
    assert not cpi.is_running(vm)
    cpi("delete_disk", disk)
    cpi("delete_stemcell", stemcell)
    assert sorted(os.listdir(cpi.store)) in (["disks"], [".locks", "disks"])
    assert os.listdir(cpi.store / "disks") == []


@pytest.mark.needs_sim("counts vmrun runs and reads the guest agent's state")
def test_create_env_sequence_costs_at_most_12_runs_and_leaves_a_running_agent(cpi: Cpi) -> None:
    counts: dict[str, int] = {}

    def step(method: str, *args: object) -> object:
        before = cpi.calls()
        result = cpi(method, *args)
        counts[method] = counts.get(method, 0) + cpi.calls() - before
        return result

    step("info")
    stemcell = cpi.new_stemcell()
    vm, _networks = step("create_vm", "agent-1", stemcell, {"cpu": 2, "ram": 2048, "disk": 1024}, cpi.manual(), [], ENV)
    view = cpi.host.vm(str(cpi.vmx(vm)))
    assert view.power is Power.RUNNING and view.agent.status is AgentStatus.RUNNING, view.agent
    step("set_vm_metadata", vm, {"deployment": "bosh", "instance_group": "director", "index": "0", "name": "bosh/0"})
    disk = step("create_disk", 2048, {}, vm)
    assert step("attach_disk", vm, disk) == "2"
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING
    step("set_disk_metadata", disk, {"deployment": "bosh", "attached_at": "now"})
    assert step("has_vm", vm) is True
    step("detach_disk", vm, disk)
    step("delete_vm", vm)
    step("delete_disk", disk)
    step("delete_stemcell", stemcell)
    assert sum(counts.values()) <= 12, counts
    for free in ("info", "has_vm", "create_disk", "delete_disk", "set_vm_metadata", "set_disk_metadata"):
        assert counts[free] == 0, (free, counts)
    assert sorted(os.listdir(cpi.store)) in (["disks"], [".locks", "disks"])
    assert os.listdir(cpi.store / "disks") == []


def test_create_vm_v2_configures_the_clone_and_the_settings_cd(cpi: Cpi) -> None:
    stemcell = cpi.new_stemcell()
    template_cdrom = devices.cdroms(Vmx.parse((cpi.store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx").read_bytes()))[0]
    vm, networks = cpi.create_vm(stemcell)
    config = vmx_of(cpi, vm)
    assert config["numvcpus"] == "2" and config["memsize"] == "2048"
    nics = devices.nics(config)
    assert [(n.connection_type.value, n.vnet) for n in nics] == [("custom", cpi.network)]
    mac = networks["default"]["mac"]
    assert mac == nics[0].mac.lower() and mac.startswith("00:50:56:") and int(mac.split(":")[3], 16) <= 0x3F
    first_cdrom = devices.cdroms(config)[0]  # the template's own CD-ROM carries the settings
    assert first_cdrom.slot == template_cdrom.slot and first_cdrom.file_name.endswith("env.iso")
    assert config[f"{first_cdrom.slot}.startConnected"].upper() == "TRUE"
    assert [str(d.slot) for d in devices.hard_disks(config)][:2] == ["scsi0:0", "scsi0:1"]
    settings = iso_settings(cpi, vm)
    assert settings["agent_id"] == "agent-1" and settings["env"] == ENV and settings["mbus"] == MBUS
    assert settings["disks"] == {"system": "0", "ephemeral": "1", "persistent": {}}
    assert settings["networks"]["default"]["mac"] == mac
    for name in ("env.iso", "env.json"):
        assert stat.S_IMODE(os.stat(cpi.vm_dir(vm) / name).st_mode) == 0o600


@pytest.mark.not_remote("v1 shapes are made above the runner; create_vm and attach_disk run over SSH elsewhere")
def test_v1_shapes_cid_only_and_no_hint(cpi: Cpi) -> None:
    stemcell = cpi.new_stemcell()
    vm = cpi.create_vm(stemcell, api_version=1)
    assert isinstance(vm, str) and cpi("has_vm", vm, api_version=1) is True
    disk = cpi("create_disk", 1024, {}, vm, api_version=1)
    assert cpi("attach_disk", vm, disk, api_version=1) is None
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {disk: "2"}


def test_two_networks_get_distinct_lowercase_macs_matching_the_vmx(cpi: Cpi) -> None:
    vm, networks = cpi.create_vm(cpi.new_stemcell(), networks=TWO_NETWORKS)
    nics = devices.nics(vmx_of(cpi, vm))
    assert [n.connection_type.value for n in nics] == ["hostonly", "nat"]
    macs = [networks[name]["mac"] for name in ("private", "outbound")]
    assert macs == [n.mac.lower() for n in nics] and len(set(macs)) == 2 and all(m == m.lower() for m in macs)
    assert {k: v["mac"] for k, v in iso_settings(cpi, vm)["networks"].items()} == dict(
        zip(("private", "outbound"), macs, strict=True)
    )
    assert cpi.is_running(vm)


@pytest.mark.not_remote(
    "the agent reads the files test_two_networks_get_distinct_lowercase_macs_matching_the_vmx checks over SSH"
)
@pytest.mark.not_spawned(
    "the agent reads the files "
    "test_two_networks_get_distinct_lowercase_macs_matching_the_vmx checks through the executable"
)
@pytest.mark.needs_sim("reads the guest agent's state")
def test_two_networks_leave_a_running_agent(cpi: Cpi) -> None:
    vm, _networks = cpi.create_vm(cpi.new_stemcell(), networks=TWO_NETWORKS)
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING


@pytest.mark.not_remote("test_things_that_do_not_exist_cost_no_vmrun_run asks the same over SSH")
@pytest.mark.not_spawned("test_things_that_do_not_exist_cost_no_vmrun_run asks the same through the executable")
def test_deleting_things_that_do_not_exist(cpi: Cpi) -> None:
    answer_things_that_do_not_exist(cpi)


@pytest.mark.needs_sim("counts vmrun runs")
def test_things_that_do_not_exist_cost_no_vmrun_run(cpi: Cpi) -> None:
    answer_things_that_do_not_exist(cpi)
    assert cpi.calls() == 0


def answer_things_that_do_not_exist(cpi: Cpi) -> None:
    assert cpi.error("delete_vm", "fake-vm-cid")["type"] == "Bosh::Clouds::VMNotFound"
    assert cpi.error("delete_vm", "fake-vm-cid")["message"].startswith("VM 'fake-vm-cid' not found")
    assert cpi.error("delete_disk", "fake-disk-cid")["type"] == "Bosh::Clouds::DiskNotFound"
    assert cpi("has_vm", "non-existent-vm-id") is False and cpi("has_disk", "nope") is False
    assert cpi("delete_stemcell", "no-such-stemcell") is None
    assert cpi("delete_snapshot", "no-such-snapshot") is None
    assert cpi.error("reboot_vm", "ghost")["type"] == "Bosh::Clouds::VMNotFound"
    assert cpi.error("set_vm_metadata", "ghost", {})["type"] == "Bosh::Clouds::VMNotFound"
    assert cpi.error("get_disks", "ghost")["type"] == "Bosh::Clouds::VMNotFound"


def test_create_vm_with_unknown_stemcell_fails_cleanly(cpi: Cpi) -> None:
    error = cpi.error("create_vm", "agent-1", "missing-stemcell", {}, cpi.manual(), [], {})
    assert error["type"] == "Bosh::Clouds::VMCreationFailed" and error["ok_to_retry"] is False
    assert "Creating VM for agent 'agent-1'" in error["message"] and "missing-stemcell" in error["message"]
    assert not [n for n in os.listdir(cpi.store) if n.startswith("vm-")] if cpi.store.exists() else True


WORMHOLE = {"bad": {"type": "manual", "cloud_properties": {"type": "wormhole"}}}


def test_bad_network_is_a_cpi_error_naming_it(cpi: Cpi) -> None:
    error = cpi.error("create_vm", "agent-1", cpi.new_stemcell(), {}, WORMHOLE, [], {})
    assert error["type"] == "Bosh::Clouds::CpiError" and "'bad'" in error["message"]
    assert not [n for n in os.listdir(cpi.store) if n.startswith("vm-")]


@pytest.mark.needs_sim("counts vmrun runs")
def test_bad_network_is_refused_before_any_vmrun_run(cpi: Cpi) -> None:
    stemcell = cpi.new_stemcell()
    assert cpi.error("create_vm", "agent-1", stemcell, {}, WORMHOLE, [], {})["type"] == "Bosh::Clouds::CpiError"
    assert cpi.calls() == 0


@pytest.mark.parametrize(
    ("verb", "output", "retry"),
    [
        ("start", "Error: The operation was canceled", True),
        pytest.param("clone", "Error: This VM is in use.", True, marks=[ROLLBACK_ELSEWHERE, ROLLBACK_SPAWNED]),
        pytest.param(
            "start",
            "Error: Cannot open VM: x, The virtual machine cannot be found",
            False,
            marks=[ROLLBACK_ELSEWHERE, ROLLBACK_SPAWNED],
        ),
    ],
)
@pytest.mark.needs_sim("injects vmrun faults")
def test_create_vm_rolls_back_on_a_host_failure_and_a_retry_succeeds(
    cpi: Cpi, verb: str, output: str, retry: bool
) -> None:
    stemcell = cpi.new_stemcell()
    cpi.host.configure(faults=[{"verb": verb, "nth": 1, "output": output}])
    error = cpi.error("create_vm", "agent-1", stemcell, {"disk": 512}, cpi.manual(), [], ENV)
    assert error["type"] == "Bosh::Clouds::VMCreationFailed" and error["ok_to_retry"] is retry
    assert "Creating VM for agent 'agent-1'" in error["message"] and output.split(": ", 1)[1][:20] in error["message"]
    assert not [n for n in os.listdir(cpi.store) if n.startswith("vm-")]
    vm, _ = cpi.create_vm(stemcell)
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING


@pytest.mark.not_spawned(
    "delete_stemcell's mark is a store file; test_create_env_sequence_costs_at_most_12_runs_and_leaves_a_running_agent "
    "deletes a stemcell and test_reboot_vm_leaves_it_running reboots through the executable"
)
def test_delete_stemcell_keeps_the_template_until_its_last_clone_goes(cpi: Cpi) -> None:
    stemcell = cpi.new_stemcell()
    first, _ = cpi.create_vm(stemcell)
    second, _ = cpi.create_vm(stemcell, agent="agent-2")
    template = cpi.store / f"cs-{stemcell}"
    cpi("delete_stemcell", stemcell)
    assert (template / f"cs-{stemcell}.vmx").exists() and (template / "deleted").exists()
    assert (
        cpi.error("create_vm", "agent-3", stemcell, {}, cpi.manual(), [], {})["type"]
        == "Bosh::Clouds::VMCreationFailed"
    )
    cpi("delete_vm", first)
    assert template.exists()
    cpi("reboot_vm", second)  # the remaining clone still works
    assert cpi.is_running(second)
    cpi("delete_vm", second)
    assert not template.exists()


DIRECTOR = {"instance_group": "director", "deployment": "bosh", "index": "0", "name": "bosh/0"}


@pytest.mark.not_remote(f"a .vmx edit; cold edits run over SSH in {CREATE_ENV_COUNTED}")
@pytest.mark.not_spawned(
    f"a .vmx edit; set_vm_metadata and cold edits run through the executable in {CREATE_ENV_COUNTED}"
)
def test_human_readable_name_applied_at_the_next_cold_edit(make_cpi: Callable[..., Cpi]) -> None:
    cpi = make_cpi(enable_human_readable_name=True)
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    cpi("set_vm_metadata", vm, DIRECTOR)
    assert vmx_of(cpi, vm)["displayName"] == f"vm-{vm}"
    disk = cpi("create_disk", 1024, {}, vm)
    cpi("attach_disk", vm, disk)
    assert vmx_of(cpi, vm)["displayName"] == "director_bosh_0"


@pytest.mark.not_remote(f"{CREATE_ENV_COUNTED} counts set_vm_metadata's runs over SSH")
@pytest.mark.not_spawned(f"{CREATE_ENV_COUNTED} counts set_vm_metadata's runs through the executable")
@pytest.mark.needs_sim("counts vmrun runs")
def test_set_vm_metadata_runs_nothing(make_cpi: Callable[..., Cpi]) -> None:
    cpi = make_cpi(enable_human_readable_name=True)
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    before = cpi.calls()
    cpi("set_vm_metadata", vm, DIRECTOR)
    assert cpi.calls() == before


def test_calculate_vm_cloud_properties_feeds_create_vm(cpi: Cpi) -> None:
    props = cpi("calculate_vm_cloud_properties", {"ram": 512, "cpu": 2, "ephemeral_disk_size": 2048})
    assert props == {"cpu": 2, "ram": 512, "disk": 2048}
    vm, _ = cpi.create_vm(cpi.new_stemcell(), props=props)
    assert vmx_of(cpi, vm)["memsize"] == "512"
    error = cpi.error("calculate_vm_cloud_properties", {"ram": 512})
    assert error["type"] == "Bosh::Clouds::CpiError" and "'cpu'" in error["message"]


@pytest.mark.not_remote("test_delete_stemcell_keeps_the_template_until_its_last_clone_goes reboots over SSH")
def test_reboot_vm_leaves_it_running(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    cpi("reboot_vm", vm)
    assert cpi.is_running(vm)


def test_secrets_never_reach_the_log(cpi: Cpi) -> None:
    vm = cpi.raw("create_vm", "agent-1", cpi.new_stemcell(), {}, cpi.manual(), [], ENV)
    assert vm["error"] is None and "mbus-Secret" not in vm["log"]
    assert "create_vm" in vm["log"]


@pytest.mark.not_remote("the response is built above the runner; create_vm runs over SSH elsewhere")
def test_create_vm_result_carries_the_input_networks(cpi: Cpi) -> None:
    _vm, networks = cpi.create_vm(cpi.new_stemcell())
    expected = {k: {**v, "mac": networks["default"]["mac"], "preconfigured": False} for k, v in cpi.manual().items()}
    assert networks == expected


@pytest.mark.not_remote("a .vmx edit; test_create_vm_v2_configures_the_clone_and_the_settings_cd clones over SSH")
@pytest.mark.not_spawned(
    "a .vmx edit; test_create_vm_v2_configures_the_clone_and_the_settings_cd clones through the executable"
)
@pytest.mark.needs_sim("edits a template made by make_vm and reads the guest agent's state")
def test_template_without_cdrom_gets_one_on_ide1(cpi: Cpi) -> None:
    cid = cpi.new_stemcell()
    template = cpi.store / f"cs-{cid}" / f"cs-{cid}.vmx"
    template.write_text("".join(line for line in template.read_text().splitlines(True) if not line.startswith("sata0")))
    vm, _ = cpi.create_vm(cid)
    assert str(devices.cdroms(vmx_of(cpi, vm))[0].slot) == "ide1:0"
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING


@pytest.mark.needs_sim("the fixture image has no guest OS; on a real host every template comes from create_stemcell")
@pytest.mark.skipif(not FIXTURE_IMAGE.exists(), reason="fixtures/stemcell/image not generated")
def test_create_stemcell_imports_the_fixture_image(cpi: Cpi) -> None:
    props = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "0.0.1", "disk": 5120}
    stemcell = cpi("create_stemcell", str(FIXTURE_IMAGE), props)
    template = cpi.store / f"cs-{stemcell}"
    assert (template / f"cs-{stemcell}.vmx").exists() and (template / "stemcell.json").exists()
    vm, _ = cpi.create_vm(stemcell)
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING
    cpi("delete_vm", vm)
    cpi("delete_stemcell", stemcell)
    assert not template.exists() and not [p for p in cpi.store.iterdir() if p.name.startswith(("cs-", "vm-"))]
