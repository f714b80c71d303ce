"""Power verbs on the in-process simulator (FakeClock: nothing sleeps for real)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.sim.conftest import BOOT_DELAY, GUEST, Vmrun
from toolkit.errors import CommandTimeout
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmx import Vmx
from vmtk_sim import Power, SimHost


def read(vmx: str) -> Vmx:
    return Vmx.parse(Path(vmx).read_bytes())


def edit(vmx: str, key: str, value: str) -> None:
    config = read(vmx)
    config.set(key, value)
    Path(vmx).write_bytes(config.dumps())


def test_start_lists_the_vm_as_spelled_and_writes_what_vmware_writes(vmrun: Vmrun, vmx: str) -> None:
    spelled = os.path.join(os.path.dirname(vmx), ".", "web.vmx")
    started = vmrun("start", spelled, "nogui")
    assert (started.exit_code, started.stdout) == (0, "")
    assert vmrun("list").stdout == f"Total running VMs: 1\n{spelled}\n"
    config = read(vmx)
    assert config.get("cleanShutdown") == "FALSE"
    assert config.get("uuid.bios") and config.get("uuid.location") == config.get("uuid.bios")
    assert (config.get("ethernet0.generatedAddress") or "").startswith("00:0c:29:")
    assert config.get("extendedConfigFile") == "web.vmxf"
    assert os.path.isdir(vmx + ".lck") and os.path.isdir(vmx.replace(".vmx", "-disk1.vmdk.lck"))


def test_starting_a_running_vm_is_refused(vmrun: Vmrun, vmx: str) -> None:
    vmrun("start", vmx)
    again = vmrun("start", vmx)
    assert again.exit_code == 255
    assert again.stdout == "Error: The virtual machine should not be powered on. It is already running.\n"


def test_a_missing_vmx_cannot_be_found(vmrun: Vmrun, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope" / "nope.vmx")
    answer = vmrun("start", missing)
    assert (answer.exit_code, answer.stdout) == (
        255,
        f"Error: Cannot open VM: {missing}, The virtual machine cannot be found\n",
    )


@pytest.mark.parametrize("damage", ['displayName = "a"\ndisplayname = "b"\n', "this is not a vmx line\n"])
def test_an_unparsable_vmx_cannot_be_read(vmrun: Vmrun, vmx: str, damage: str) -> None:
    with open(vmx, "a", encoding="utf-8") as handle:
        handle.write(damage)
    answer = vmrun("start", vmx)
    assert answer.stdout == f"Error: Cannot open VM: {vmx}, Cannot read the virtual machine configuration file\n"
    assert vmrun("list").stdout == "Total running VMs: 0\n"


def test_a_non_vmx_path_has_an_unknown_suffix(vmrun: Vmrun, tmp_path: Path) -> None:
    assert vmrun("start", str(tmp_path / "disk.vmdk")).stdout.endswith(", unknown file suffix\n")


def test_hard_stop_powers_off_unclean_and_releases_the_locks(vmrun: Vmrun, vmx: str) -> None:
    vmrun("start", vmx)
    assert vmrun("stop", vmx, "hard").exit_code == 0
    assert vmrun("list").stdout == "Total running VMs: 0\n"
    assert read(vmx).get("cleanShutdown") == "FALSE"
    assert not any(name.endswith(".lck") for name in os.listdir(os.path.dirname(vmx)))


def test_soft_stop_with_tools_running_is_a_clean_shutdown(vmrun: Vmrun, booted: str) -> None:
    assert vmrun("stop", booted, "soft").exit_code == 0
    assert read(booted).get("cleanShutdown") == "TRUE"


def test_soft_stop_without_tools_hangs_until_the_callers_timeout(
    vmrun: Vmrun, vmx: str, clock: FakeClock, host: SimHost
) -> None:
    vmrun("start", vmx)
    before = clock.monotonic()
    with pytest.raises(CommandTimeout) as caught:
        vmrun("stop", vmx, "soft", timeout=30.0)
    assert caught.value.argv[0] == "vmrun-sim"
    assert clock.monotonic() - before == pytest.approx(30.0)
    assert host.vm(vmx).power is Power.RUNNING
    assert host.calls()[-1]["exit_code"] is None


def test_soft_stop_without_tools_can_be_configured_to_fail(vmrun: Vmrun, vmx: str, host: SimHost) -> None:
    host.configure(soft_stop_without_tools="error")
    vmrun("start", vmx)
    answer = vmrun("stop", vmx)
    assert answer.stdout == f"Error: The VMware Tools are not running in the virtual machine: {vmx}\n"


def test_stopping_a_vm_that_is_off_is_refused_with_its_path(vmrun: Vmrun, vmx: str) -> None:
    answer = vmrun("stop", vmx, "hard")
    assert (answer.exit_code, answer.stdout) == (
        255,
        f"Error: The virtual machine is not powered on: {vmx}\n",
    )


def test_edits_to_the_vmx_while_running_are_lost_at_power_off(vmrun: Vmrun, booted: str) -> None:
    edit(booted, "displayName", "ignored-name-when-vm-running")
    edit(booted, "guestinfo.late", "lost")
    vmrun("stop", booted, "soft")
    config = read(booted)
    assert config.get("displayName") == "web"
    assert config.get("guestinfo.late") is None
    assert config.get("cleanShutdown") == "TRUE"


def test_edits_while_off_are_kept(vmrun: Vmrun, vmx: str) -> None:
    edit(vmx, "displayName", "renamed")
    vmrun("start", vmx)
    vmrun("stop", vmx, "hard")
    assert read(vmx).get("displayName") == "renamed"


def test_a_lock_held_by_something_else_means_in_use(vmrun: Vmrun, vmx: str) -> None:
    os.mkdir(vmx + ".lck")
    answer = vmrun("start", vmx)
    assert (answer.exit_code, answer.stdout) == (255, "Error: This VM is in use.\n")


def test_a_missing_disk_cancels_the_power_on_and_says_why_in_vmware_log(vmrun: Vmrun, vmx: str) -> None:
    os.remove(vmx.replace(".vmx", "-disk1.vmdk"))
    answer = vmrun("start", vmx)
    assert (answer.exit_code, answer.stdout) == (255, "Error: The operation was canceled\n")
    log = Path(os.path.dirname(vmx), "vmware.log").read_text()
    assert "Msg_Post: Error" in log and "web-disk1.vmdk" in log


@pytest.mark.parametrize(
    ("mac", "ok"), [("00:50:56:3f:00:01", True), ("00:50:56:40:00:01", False), ("00:11:22:33:44:55", False)]
)
def test_static_macs_must_be_in_vmwares_manual_range(vmrun: Vmrun, vmx: str, mac: str, ok: bool) -> None:
    edit(vmx, "ethernet0.addressType", "static")
    edit(vmx, "ethernet0.address", mac)
    answer = vmrun("start", vmx)
    assert answer.exit_code == (0 if ok else 255)
    assert ok or answer.stdout == "Error: The operation was canceled\n"


def test_tools_come_up_after_the_boot_delay(vmrun: Vmrun, vmx: str, clock: FakeClock) -> None:
    off = vmrun("checkToolsState", vmx)
    assert (off.exit_code, off.stdout) == (254, "unknown\n")
    vmrun("start", vmx)
    clock.advance(BOOT_DELAY - 0.5)
    assert vmrun("checkToolsState", vmx).stdout == "unknown\n"
    clock.advance(0.5)
    assert (vmrun("checkToolsState", vmx).exit_code, vmrun("checkToolsState", vmx).stdout) == (0, "running\n")


def test_suspend_then_start_resumes(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    assert vmrun("suspend", booted).exit_code == 0
    state_file = read(booted).get("checkpoint.vmState")
    assert state_file and os.path.exists(os.path.join(os.path.dirname(booted), state_file))
    assert vmrun("list").stdout == "Total running VMs: 0\n"
    assert vmrun("stop", booted, "hard").stdout.startswith("Error: The virtual machine is not powered on")
    assert vmrun("start", booted).exit_code == 0
    assert read(booted).get("checkpoint.vmState") is None
    assert not os.path.exists(os.path.join(os.path.dirname(booted), state_file))
    assert host.vm(booted).tools == "running"


def test_a_paused_vm_is_listed_and_refuses_guest_operations(vmrun: Vmrun, booted: str) -> None:
    vmrun("pause", booted)
    assert vmrun("list").stdout.splitlines()[1:] == [booted]
    answer = vmrun(*GUEST[:0], "-gu", "vcap", "-gp", "c1oudc0w", "fileExistsInGuest", booted, "/etc/passwd")
    assert answer.stdout == f"Error: The virtual machine is paused: {booted}\n"
    vmrun("unpause", booted)
    assert vmrun(*GUEST, "fileExistsInGuest", booted, "/etc/passwd").stdout == "The file exists.\n"


def test_reset_reboots_the_guest(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    assert vmrun("reset", booted, "hard").exit_code == 0
    assert host.vm(booted).power is Power.RUNNING and host.vm(booted).tools == "unknown"


def test_start_on_a_player_only_host_needs_t_player(vmrun: Vmrun, vmx: str, host: SimHost) -> None:
    host.configure(product="player")
    answer = vmrun("start", vmx, host_type="ws")
    assert answer.exit_code == 255
    assert answer.stdout == (
        "Unable to connect to host.\n"
        "Error: Service type VIX_SERVICEPROVIDER_VMWARE_WORKSTATION was specified, but not installed\n"
    )
    assert vmrun("start", vmx, host_type="player").exit_code == 0


@pytest.mark.parametrize("verb", [("snapshot", "s1"), ("listSnapshots",), ("clone", "/x/c.vmx", "full")])
def test_player_cannot_snapshot_or_clone(vmrun: Vmrun, vmx: str, verb: tuple[str, ...]) -> None:
    answer = vmrun(verb[0], vmx, *verb[1:], host_type="player")
    assert (answer.exit_code, answer.stdout) == (255, "Error: The operation is not supported\n")


def test_fusion_rejects_t_player(vmrun: Vmrun, host: SimHost) -> None:
    host.configure(product="fusion")
    answer = vmrun("list", host_type="player")
    assert answer.stdout == "Invalid host type 'player' specified\nError: The operation is not supported\n"
    assert vmrun("list", host_type="fusion").exit_code == 0


@pytest.mark.parametrize("argv", [(), ("frobnicate",), ("start",)])
def test_no_verb_unknown_verb_or_missing_vmx_prints_help(host: SimHost, argv: tuple[str, ...]) -> None:
    answer = host.runner().run(["vmrun-sim", *argv], timeout=10)
    assert answer.exit_code == 255
    assert answer.stdout.startswith("\nvmrun version 1.17.0 build-24583834\n\nUsage: vmrun")


def test_a_fault_answers_the_nth_call_of_a_verb_once(vmrun: Vmrun, vmx: str, host: SimHost) -> None:
    host.configure(faults=[{"verb": "list", "nth": 2, "output": "Error: Unknown error", "exit_code": 255}])
    answers = [vmrun("list") for _ in range(3)]
    assert [a.exit_code for a in answers] == [0, 255, 0]
    assert answers[1].stdout == "Error: Unknown error\n"


def test_a_new_fault_list_is_unused_even_where_an_old_one_was_used(vmrun: Vmrun, vmx: str, host: SimHost) -> None:
    host.configure(faults=[{"verb": "list", "nth": 1, "output": "Error: Unknown error"}])
    assert vmrun("list").exit_code == 255
    # Counts go on from the first call: the new list's first fault is the 3rd list call.
    host.configure(faults=[{"verb": "list", "nth": 3, "output": "Error: The operation was canceled"}])
    answers = [vmrun("list") for _ in range(3)]
    assert [a.exit_code for a in answers] == [0, 255, 0]
    assert answers[1].stdout == "Error: The operation was canceled\n"


def test_latency_is_slept_through_the_clock(vmrun: Vmrun, vmx: str, host: SimHost, clock: FakeClock) -> None:
    host.configure(latency={"default": 0.25, "start": 2.0})
    before = clock.monotonic()
    vmrun("start", vmx)
    vmrun("list")
    assert clock.monotonic() - before == pytest.approx(2.25)
    assert [round(c["duration"], 2) for c in host.calls()] == [2.0, 0.25]


def test_latency_beyond_the_timeout_raises_after_acting(vmrun: Vmrun, vmx: str, host: SimHost) -> None:
    host.configure(latency={"start": 200.0})
    with pytest.raises(CommandTimeout):
        vmrun("start", vmx, timeout=10.0)
    assert host.vm(vmx).power is Power.RUNNING  # a timed-out start may well have started the VM


def test_every_call_is_logged_with_secrets_masked(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    vmrun(*GUEST, "fileExistsInGuest", booted, "/nope")
    last = host.calls()[-1]
    assert last["tool"] == "vmrun"
    assert last["argv"] == ["-T", "ws", "-gu", "vcap", "-gp", "***", "fileExistsInGuest", booted, "/nope"]
    assert last["exit_code"] == 255 and "c1oudc0w" not in Path(host.home.calls_file).read_text()


def test_windows_hosts_answer_with_crlf(vmrun: Vmrun, host: SimHost) -> None:
    host.configure(platform="windows")
    assert vmrun("list").stdout == "Total running VMs: 0\r\n"


def test_programs_that_are_not_simulated_tools_really_run_through_the_local_runner(host: SimHost) -> None:
    with pytest.raises(BaseException, match="mark it real_process"):
        host.runner().run(["/bin/echo", "hi"], timeout=5)


def test_ovftool_sim_routes_to_the_ovftool_model_and_is_logged(host: SimHost) -> None:
    pytest.importorskip("vmtk_sim.ovftool_model")
    answer = host.runner().run(["/opt/bin/ovftool-sim", "--version"], timeout=60)
    assert answer.exit_code == 0 and answer.stdout.startswith("VMware ovftool")
    assert host.calls()[-1]["tool"] == "ovftool"


def test_list_prints_the_absolute_path_of_a_vm_started_by_a_relative_one(
    vmrun: Vmrun, vmx: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vmrun's list shows absolute paths [V]; it never echoes a relative spelling."""
    monkeypatch.chdir(tmp_path)
    assert vmrun("start", os.path.relpath(vmx)).exit_code == 0
    assert vmrun("list").stdout == f"Total running VMs: 1\n{vmx}\n"
