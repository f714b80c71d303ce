"""Guest verbs without guest programs: the gate, files, processes, the agent, IP, variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sim.conftest import BOOT_DELAY, GUEST, Vmrun
from toolkit.formats.iso import settings_iso
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmx import Vmx
from vmtk_sim import AgentStatus, AgentView, SimHost

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"

SETTINGS = {
    "agent_id": "agent-1",
    "networks": {},
    "disks": {"system": "0", "ephemeral": "1", "persistent": {}},
}


def guest(vmrun: Vmrun, verb: str, *args: str) -> tuple[int, str]:
    answer = vmrun(*GUEST, verb, *args)
    return answer.exit_code, answer.stdout


def test_guest_operations_check_power_tools_then_credentials(vmrun: Vmrun, vmx: str, clock: FakeClock) -> None:
    assert guest(vmrun, "fileExistsInGuest", vmx, "/etc") == (
        255,
        f"Error: The virtual machine is not powered on: {vmx}\n",
    )
    vmrun("start", vmx)
    assert guest(vmrun, "fileExistsInGuest", vmx, "/etc")[1] == (
        f"Error: The VMware Tools are not running in the virtual machine: {vmx}\n"
    )
    clock.advance(BOOT_DELAY)
    anonymous = vmrun("fileExistsInGuest", vmx, "/etc")
    assert anonymous.stdout.startswith("Error: Anonymous guest operations are not allowed")
    wrong = vmrun("-gu", "vcap", "-gp", "wrong", "fileExistsInGuest", vmx, "/etc")
    assert (wrong.exit_code, wrong.stdout) == (255, "Error: Invalid user name or password for the guest OS\n")


def test_copy_in_and_out_round_trips_a_file(vmrun: Vmrun, booted: str, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 10)
    assert guest(vmrun, "CopyFileFromHostToGuest", booted, str(source), "/tmp/in.bin") == (0, "")
    back = tmp_path / "out.bin"
    assert guest(vmrun, "copyFileFromGuestToHost", booted, "/tmp/in.bin", str(back)) == (0, "")
    assert back.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("verb", "args"),
    [
        ("CopyFileFromHostToGuest", ("/no/such/host/file", "/tmp/x")),
        ("CopyFileFromGuestToHost", ("/no/such/guest/file", "/tmp/out")),
        ("CopyFileFromGuestToHost", ("/tmp/../etc/passwd", "/tmp/out")),
        ("deleteFileInGuest", ("/no/such",)),
        ("deleteDirectoryInGuest", ("/no/such",)),
        ("listDirectoryInGuest", ("/no/such",)),
        ("renameFileInGuest", ("/no/such", "/tmp/y")),
        ("createDirectoryInGuest", ("/no/such/parent",)),
    ],
)
def test_missing_files_answer_a_file_was_not_found(vmrun: Vmrun, booted: str, verb: str, args: tuple[str, ...]) -> None:
    assert guest(vmrun, verb, booted, *args) == (255, "Error: A file was not found\n")


def test_existence_questions_answer_in_words(vmrun: Vmrun, booted: str) -> None:
    assert guest(vmrun, "fileExistsInGuest", booted, "/etc/passwd") == (0, "The file exists.\n")
    assert guest(vmrun, "fileExistsInGuest", booted, "/etc") == (255, "The file does not exist.\n")
    assert guest(vmrun, "directoryExistsInGuest", booted, "/etc") == (0, "The directory exists.\n")
    assert guest(vmrun, "directoryExistsInGuest", booted, "/nope") == (255, "The directory does not exist.\n")


def test_directories_can_be_created_listed_renamed_and_deleted(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    assert guest(vmrun, "createDirectoryInGuest", booted, "/var/vcap/store") == (0, "")
    assert guest(vmrun, "createDirectoryInGuest", booted, "/var/vcap/store")[0] == 255
    temp = guest(vmrun, "CreateTempfileInGuest", booted)[1].strip()
    assert guest(vmrun, "renameFileInGuest", booted, temp, "/var/vcap/store/a") == (0, "")
    assert guest(vmrun, "listDirectoryInGuest", booted, "/var/vcap/store") == (0, "Directory list: 1\na\n")
    assert (host.vm(booted).guest_root / "var/vcap/store/a").is_file()
    assert guest(vmrun, "deleteFileInGuest", booted, "/var/vcap/store/a") == (0, "")
    assert guest(vmrun, "deleteDirectoryInGuest", booted, "/var/vcap/store") == (0, "")
    assert guest(vmrun, "directoryExistsInGuest", booted, "/var/vcap/store")[1] == "The directory does not exist.\n"


def test_guest_symlinks_cannot_lead_a_copy_out_of_the_guest(
    vmrun: Vmrun, booted: str, host: SimHost, tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("host only")
    (host.vm(booted).guest_root / "tmp" / "escape").symlink_to(secret)
    (host.vm(booted).guest_root / "tmp" / "up").symlink_to("../../../../../../..")
    assert guest(vmrun, "CopyFileFromGuestToHost", booted, "/tmp/escape", str(tmp_path / "a"))[0] == 255
    assert guest(vmrun, "CopyFileFromGuestToHost", booted, f"/tmp/up{secret}", str(tmp_path / "b"))[0] == 255
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_hosts_usr_is_read_only_for_the_guest(vmrun: Vmrun, booted: str, tmp_path: Path) -> None:
    source = tmp_path / "x"
    source.write_text("x")
    answer = guest(vmrun, "CopyFileFromHostToGuest", booted, str(source), "/usr/bin/planted")
    assert answer == (255, "Error: Insufficient permissions in the guest operating system\n")
    assert not Path("/usr/bin/planted").exists()


def test_guest_files_persist_across_power_cycles(vmrun: Vmrun, booted: str, clock: FakeClock) -> None:
    guest(vmrun, "createDirectoryInGuest", booted, "/root/kept")
    vmrun("stop", booted, "hard")
    vmrun("start", booted)
    clock.advance(BOOT_DELAY)
    assert guest(vmrun, "directoryExistsInGuest", booted, "/root/kept")[1] == "The directory exists.\n"


def test_processes_list_the_boot_processes(vmrun: Vmrun, booted: str) -> None:
    code, out = guest(vmrun, "listProcessesInGuest", booted)
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"Process list: {len(lines) - 1}"
    assert lines[1] == "pid=1, owner=root, cmd=/sbin/init"
    # No settings CD-ROM yet, and still listed: on a stemcell runit restarts the agent while it
    # waits for settings (the reference CPI bootstraps with ready_process_name bosh-agent then).
    assert "cmd=/var/vcap/bosh/bin/bosh-agent" in out


def test_killing_a_boot_process_removes_it_and_unknown_pids_fail(vmrun: Vmrun, booted: str) -> None:
    assert guest(vmrun, "killProcessInGuest", booted, "598") == (0, "")
    assert "sshd" not in guest(vmrun, "listProcessesInGuest", booted)[1]
    assert guest(vmrun, "killProcessInGuest", booted, "424242")[0] == 255


def attach_settings(vmx: str, settings: object, *, slot: str = "ide1:0") -> None:
    iso = Path(vmx).with_name("env.iso")
    iso.write_bytes(settings_iso(settings))  # type: ignore[arg-type]
    config = Vmx.parse(Path(vmx).read_bytes())
    for key, value in (("present", "TRUE"), ("deviceType", "cdrom-image"), ("fileName", "env.iso")):
        config.set(f"{slot}.{key}", value)
    Path(vmx).write_bytes(config.dumps())


def test_the_agent_runs_once_booted_when_its_settings_are_good(
    vmrun: Vmrun, vmx: str, host: SimHost, clock: FakeClock
) -> None:
    attach_settings(vmx, SETTINGS)
    vmrun("start", vmx)
    assert host.vm(vmx).agent.status is AgentStatus.BOOTING
    clock.advance(BOOT_DELAY)
    assert host.vm(vmx).agent.status is AgentStatus.RUNNING
    assert "cmd=/var/vcap/bosh/bin/bosh-agent" in guest(vmrun, "listProcessesInGuest", vmx)[1]


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({**SETTINGS, "agent_id": 7}, "agent_id"),
        ({k: v for k, v in SETTINGS.items() if k != "agent_id"}, "agent_id"),
        ({**SETTINGS, "networks": {"default": {"mac": "00:50:56:3f:00:99"}}}, "MAC"),
        ({**SETTINGS, "disks": {"system": 0}}, "disks.system"),
        ({**SETTINGS, "disks": {"system": "0", "ephemeral": 1}}, "ephemeral"),
        ({**SETTINGS, "disks": {"system": "0", "persistent": {"d": 3}}}, "persistent"),
    ],
)
def test_bad_settings_mean_no_agent_and_the_reason_is_recorded(
    vmrun: Vmrun, booted: str, host: SimHost, clock: FakeClock, settings: dict[str, object], reason: str
) -> None:
    vmrun("stop", booted, "hard")
    attach_settings(booted, settings)
    vmrun("start", booted)
    clock.advance(BOOT_DELAY)
    view = host.vm(booted).agent
    assert view.status is AgentStatus.FAILED and reason in view.reason
    assert "bosh-agent" in guest(vmrun, "listProcessesInGuest", booted)[1]  # failing, restarted by runit


def test_the_agent_reads_the_reference_cpis_iso9660wrap_image(
    vmrun: Vmrun, vmx: str, host: SimHost, clock: FakeClock
) -> None:
    """Its path table size is wrong (2048 declared, 10 used): Linux never reads it, nor does the agent."""
    Path(vmx).with_name("env.iso").write_bytes((REFERENCE / "iso9660wrap-env.iso").read_bytes())
    config = Vmx.parse(Path(vmx).read_bytes())
    for key, value in (
        ("ide0:0.present", "TRUE"),
        ("ide0:0.deviceType", "cdrom-image"),
        ("ide0:0.fileName", "env.iso"),
        ("ethernet0.addressType", "static"),
        ("ethernet0.address", "00:50:56:3f:4a:d0"),
    ):  # the MAC its settings name
        config.set(key, value)
    Path(vmx).write_bytes(config.dumps())
    vmrun("start", vmx)
    clock.advance(BOOT_DELAY)
    assert host.vm(vmx).agent == AgentView(AgentStatus.RUNNING)


def test_the_agent_matches_network_macs_against_the_nics(
    vmrun: Vmrun, vmx: str, host: SimHost, clock: FakeClock
) -> None:
    config = Vmx.parse(Path(vmx).read_bytes())
    config.set("ethernet0.addressType", "static")
    config.set("ethernet0.address", "00:50:56:3F:00:10")
    Path(vmx).write_bytes(config.dumps())
    attach_settings(vmx, {**SETTINGS, "networks": {"default": {"mac": "00:50:56:3f:00:10"}}})
    vmrun("start", vmx)
    clock.advance(BOOT_DELAY)
    assert host.vm(vmx).agent.status is AgentStatus.RUNNING


def test_the_agent_reads_only_the_first_cdrom(vmrun: Vmrun, vmx: str, host: SimHost, clock: FakeClock) -> None:
    attach_settings(vmx, SETTINGS, slot="sata0:1")
    config = Vmx.parse(Path(vmx).read_bytes())
    for key, value in (("present", "TRUE"), ("deviceType", "atapi-cdrom")):
        config.set(f"ide0:0.{key}", value)  # an empty drive that the guest enumerates first
    Path(vmx).write_bytes(config.dumps())
    vmrun("start", vmx)
    clock.advance(BOOT_DELAY)
    assert host.vm(vmx).agent.status is AgentStatus.FAILED


def test_the_guest_ip_appears_after_tools_and_ip_delay(vmrun: Vmrun, vmx: str, host: SimHost, clock: FakeClock) -> None:
    host.configure(ip_delay=3.0)
    vmrun("start", vmx)
    clock.advance(BOOT_DELAY)
    assert vmrun("getGuestIPAddress", vmx).stdout == "Error: Unable to get the IP address\n"
    waited = vmrun("getGuestIPAddress", vmx, "-wait")
    assert waited.exit_code == 0 and waited.stdout.startswith("192.168.80.")
    assert vmrun("getGuestIPAddress", vmx).stdout == waited.stdout


def test_guest_variables_start_from_guestinfo_and_can_be_written(vmrun: Vmrun, vmx: str, clock: FakeClock) -> None:
    config = Vmx.parse(Path(vmx).read_bytes())
    config.set("guestinfo.userdata", "hello")
    Path(vmx).write_bytes(config.dumps())
    vmrun("start", vmx)
    assert vmrun("readVariable", vmx, "guestVar", "userdata").stdout == "hello\n"
    vmrun("writeVariable", vmx, "guestVar", "userdata", "changed")
    assert vmrun("readVariable", vmx, "guestVar", "userdata").stdout == "changed\n"


def test_runtime_config_edits_reach_the_vmx_at_power_off(vmrun: Vmrun, vmx: str) -> None:
    vmrun("start", vmx)
    vmrun("writeVariable", vmx, "runtimeConfig", "displayName", "live")
    assert vmrun("readVariable", vmx, "runtimeConfig", "displayName").stdout == "live\n"
    vmrun("stop", vmx, "hard")
    assert Vmx.parse(Path(vmx).read_bytes()).get("displayName") == "live"


def test_state_json_stays_valid_json(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    assert json.loads(host.home.state_file.read_text())["vms"]
