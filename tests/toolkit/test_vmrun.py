"""The Vmrun driver against the simulated VMware host (``vmtk_sim``), on a FakeClock."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from toolkit import errors
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmrun import (
    RETRY_ATTEMPTS,
    CloneKind,
    GuestCredentials,
    HostType,
    Snapshot,
    StopMode,
    ToolsState,
    Vmrun,
)
from vmtk_sim import Power, SimHost, sandbox

BOOT_DELAY = 5.0
CREDS = GuestCredentials("vcap", "c1oudc0w")
TRANSIENT = "Unable to connect to host.\nError: The operation is not supported for the specified parameters"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def host(tmp_path: Path, clock: FakeClock) -> SimHost:
    sim = SimHost(tmp_path / "sim", clock=clock)
    sim.configure(boot_delay=BOOT_DELAY)
    return sim


@pytest.fixture
def vmrun(host: SimHost, clock: FakeClock) -> Vmrun:
    return Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock)


@pytest.fixture
def vmx(host: SimHost, tmp_path: Path) -> str:
    return host.make_vm(str(tmp_path / "vms" / "web" / "web.vmx"))


@pytest.fixture
def booted(vmrun: Vmrun, vmx: str, clock: FakeClock) -> str:
    vmrun.start(vmx)
    clock.advance(BOOT_DELAY)
    return vmx


def argvs(host: SimHost) -> list[list[str]]:
    return [call["argv"] for call in host.calls()]


# --- argv ----------------------------------------------------------------------------------


def test_start_defaults_to_nogui_and_powers_the_vm_on(vmrun: Vmrun, host: SimHost, vmx: str) -> None:
    vmrun.start(vmx)
    assert argvs(host)[-1] == ["-T", "ws", "start", vmx, "nogui"]
    assert host.vm(vmx).power is Power.RUNNING


def test_guest_auth_flags_come_before_the_verb(vmrun: Vmrun, host: SimHost, booted: str, tmp_path: Path) -> None:
    source = tmp_path / "hello.txt"
    source.write_text("hello")
    vmrun.copy_to_guest(booted, CREDS, str(source), "/tmp/hello.txt")
    auth = ["-T", "ws", "-gu", "vcap", "-gp", "***"]
    assert argvs(host)[-1] == [*auth, "CopyFileFromHostToGuest", booted, str(source), "/tmp/hello.txt"]
    assert (host.vm(booted).guest_root / "tmp" / "hello.txt").read_text() == "hello"


def test_encrypted_vm_password_goes_before_guest_flags(host: SimHost, clock: FakeClock, booted: str) -> None:
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock, vm_password="vp")
    vmrun.processes(booted, CREDS)
    assert argvs(host)[-1] == [
        "-T",
        "ws",
        "-vp",
        "***",
        "-gu",
        "vcap",
        "-gp",
        "***",
        "listProcessesInGuest",
        booted,
    ]


def test_clone_passes_snapshot_and_name_as_single_arguments(
    vmrun: Vmrun, host: SimHost, vmx: str, tmp_path: Path
) -> None:
    vmrun.snapshot(vmx, "base")
    clone = str(tmp_path / "vms" / "clone" / "clone.vmx")
    vmrun.clone(vmx, clone, CloneKind.LINKED, snapshot="base", name="my clone")
    assert argvs(host)[-1] == [
        "-T",
        "ws",
        "clone",
        vmx,
        clone,
        "linked",
        "-snapshot=base",
        "-cloneName=my clone",
    ]
    assert Path(clone).is_file()
    vmrun.start(clone)
    assert vmrun.is_running(clone)


# --- power, inventory, snapshots -------------------------------------------------------------


def test_list_and_is_running_compare_normalised_paths(vmrun: Vmrun, vmx: str) -> None:
    assert vmrun.list_running() == []
    vmrun.start(vmx)
    assert vmrun.list_running() == [vmx]
    folder, name = os.path.split(vmx)
    assert vmrun.is_running(f"{folder}/./{name}")
    assert not vmrun.is_running(vmx.upper())  # a Linux host's paths are case-sensitive


def test_fusion_paths_compare_case_insensitively(host: SimHost, clock: FakeClock, vmx: str) -> None:
    host.configure(product="fusion")
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.FUSION, clock=clock)
    vmrun.start(vmx)
    assert vmrun.is_running(vmx.upper())


def test_hard_stop_and_the_not_powered_on_error(vmrun: Vmrun, host: SimHost, vmx: str) -> None:
    vmrun.start(vmx)
    vmrun.stop(vmx, StopMode.HARD)
    assert host.vm(vmx).power is Power.OFF
    with pytest.raises(errors.VmNotRunningError) as caught:
        vmrun.stop(vmx, StopMode.HARD)
    error = caught.value
    assert (error.verb, error.vmx, error.exit_code) == ("stop", vmx, 255)
    assert error.argv == ("vmrun-sim", "-T", "ws", "stop", vmx, "hard")


def test_soft_stop_without_tools_times_out_and_the_vm_keeps_running(
    vmrun: Vmrun, host: SimHost, vmx: str, clock: FakeClock
) -> None:
    vmrun.start(vmx)
    before = clock.monotonic()
    with pytest.raises(errors.CommandTimeout):
        vmrun.stop(vmx, StopMode.SOFT, timeout=15.0)
    assert clock.monotonic() - before == pytest.approx(15.0)
    assert host.vm(vmx).power is Power.RUNNING


def test_soft_stop_with_tools_powers_off(vmrun: Vmrun, host: SimHost, booted: str) -> None:
    vmrun.stop(booted, StopMode.SOFT)
    assert host.vm(booted).power is Power.OFF


def test_suspend_pause_unpause_reset(vmrun: Vmrun, host: SimHost, booted: str) -> None:
    vmrun.pause(booted)
    assert host.vm(booted).power is Power.PAUSED
    with pytest.raises(errors.VmPausedError):
        vmrun.processes(booted, CREDS)
    vmrun.unpause(booted)
    vmrun.reset(booted, StopMode.HARD)
    assert host.vm(booted).power is Power.RUNNING
    vmrun.suspend(booted)
    assert host.vm(booted).power is Power.SUSPENDED
    assert not vmrun.is_running(booted)


def test_a_missing_vm_is_not_found(vmrun: Vmrun, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope" / "nope.vmx")
    with pytest.raises(errors.VmNotFoundError, match="cannot be found"):
        vmrun.start(missing)


def test_snapshots_as_a_tree(vmrun: Vmrun, vmx: str) -> None:
    assert vmrun.list_snapshots(vmx) == []
    vmrun.snapshot(vmx, "one")
    vmrun.snapshot(vmx, "two words")
    assert vmrun.list_snapshots(vmx) == [Snapshot("one", 0), Snapshot("two words", 1)]
    with pytest.raises(errors.SnapshotExistsError):
        vmrun.snapshot(vmx, "one")
    vmrun.revert_to_snapshot(vmx, "one")
    vmrun.delete_snapshot(vmx, "one", children=True)
    assert vmrun.list_snapshots(vmx) == []
    with pytest.raises(errors.SnapshotNotFoundError):
        vmrun.delete_snapshot(vmx, "one")


def test_delete_vm_removes_its_files(vmrun: Vmrun, vmx: str) -> None:
    vmrun.delete_vm(vmx)
    assert not Path(vmx).exists()


def test_tools_state_unknown_is_an_answer_not_a_failure(vmrun: Vmrun, vmx: str, clock: FakeClock) -> None:
    assert vmrun.tools_state(vmx) is ToolsState.UNKNOWN
    vmrun.start(vmx)
    assert vmrun.tools_state(vmx) is ToolsState.UNKNOWN
    clock.advance(BOOT_DELAY)
    assert vmrun.tools_state(vmx) is ToolsState.RUNNING


def test_guest_ip_is_none_until_the_guest_has_one(host: SimHost, vmrun: Vmrun, booted: str, clock: FakeClock) -> None:
    host.configure(ip_delay=10.0)
    assert vmrun.guest_ip(booted) is None
    clock.advance(10.0)
    address = vmrun.guest_ip(booted)
    assert address is not None and address.startswith("192.168.")
    # No -wait: it would block without a timeout.
    assert all("-wait" not in argv for argv in argvs(host))


# --- guest files and programs -----------------------------------------------------------------


def test_guest_file_verbs(vmrun: Vmrun, host: SimHost, booted: str) -> None:
    root = host.vm(booted).guest_root
    vmrun.mkdir(booted, CREDS, "/tmp/work")
    assert vmrun.dir_exists(booted, CREDS, "/tmp/work")
    assert not vmrun.file_exists(booted, CREDS, "/tmp/work/a")
    (root / "tmp" / "work" / "a").write_text("x")
    assert vmrun.file_exists(booted, CREDS, "/tmp/work/a")
    assert vmrun.list_dir(booted, CREDS, "/tmp/work") == ["a"]
    vmrun.delete_file(booted, CREDS, "/tmp/work/a")
    with pytest.raises(errors.GuestFileNotFoundError):
        vmrun.delete_file(booted, CREDS, "/tmp/work/a")
    vmrun.delete_dir(booted, CREDS, "/tmp/work")
    assert not vmrun.dir_exists(booted, CREDS, "/tmp/work")
    temp = vmrun.temp_file(booted, CREDS)
    assert vmrun.file_exists(booted, CREDS, temp)


def test_copy_from_guest(vmrun: Vmrun, host: SimHost, booted: str, tmp_path: Path) -> None:
    (host.vm(booted).guest_root / "tmp" / "out.txt").write_text("from the guest")
    vmrun.copy_from_guest(booted, CREDS, "/tmp/out.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "from the guest"


def test_processes_and_kill(vmrun: Vmrun, booted: str) -> None:
    procs = vmrun.processes(booted, CREDS)
    cron = next(p for p in procs if p.name == "cron")
    vmrun.kill_process(booted, CREDS, cron.pid)
    assert all(p.pid != cron.pid for p in vmrun.processes(booted, CREDS))


def test_guest_ops_before_tools_run_are_refused(vmrun: Vmrun, vmx: str) -> None:
    vmrun.start(vmx)
    with pytest.raises(errors.ToolsNotRunningError):
        vmrun.processes(vmx, CREDS)


@pytest.mark.real_process
@pytest.mark.skipif(sandbox.unavailable() is not None, reason=f"no sandbox: {sandbox.unavailable()}")
def test_run_in_guest_reports_the_guest_exit_code(vmrun: Vmrun, host: SimHost, booted: str) -> None:
    assert vmrun.run_in_guest(booted, CREDS, "/bin/sh", ["-c", "exit 0"]) == 0
    assert vmrun.run_in_guest(booted, CREDS, "/bin/sh", ["-c", "exit 3"]) == 3
    assert vmrun.run_script_in_guest(booted, CREDS, "/bin/sh", "echo hi > /tmp/s; exit 4") == 4
    assert (host.vm(booted).guest_root / "tmp" / "s").read_text() == "hi\n"
    assert vmrun.run_in_guest(booted, CREDS, "/bin/true", [], wait=False) is None
    assert argvs(host)[-1][6:] == ["runProgramInGuest", booted, "-noWait", "/bin/true"]
    with pytest.raises(errors.GuestFileNotFoundError):
        vmrun.run_in_guest(booted, CREDS, "/no/such/program", [])


# --- credentials and secrets -------------------------------------------------------------------


def test_bad_credentials_are_never_retried_and_never_shown(
    vmrun: Vmrun, host: SimHost, booted: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = len(host.calls())
    wrong = GuestCredentials("vcap", "wr0ng-s3cret")
    with pytest.raises(errors.GuestAuthError) as caught:
        vmrun.file_exists(booted, wrong, "/etc/passwd")
    assert len(host.calls()) == before + 1
    shown = str(caught.value) + repr(caught.value.argv) + caught.value.output + caplog.text + repr(wrong)
    assert "wr0ng-s3cret" not in shown
    assert "wr0ng-s3cret" not in (host.home.calls_file.read_text())


# --- retries, timeouts, Player ---------------------------------------------------------------------


def test_transient_failures_of_idempotent_verbs_are_retried(
    host: SimHost, vmrun: Vmrun, vmx: str, clock: FakeClock
) -> None:
    host.configure(
        faults=[
            {"verb": "list", "nth": 1, "output": TRANSIENT},
            {"verb": "list", "nth": 2, "output": "Error: Unknown error"},
        ]
    )
    vmrun.start(vmx)
    assert vmrun.list_running() == [vmx]
    assert [a[2] for a in argvs(host)].count("list") == 3
    assert clock.slept[-2:] == [1.0, 2.0]


def test_retries_are_bounded(host: SimHost, vmrun: Vmrun) -> None:
    faults = [{"verb": "list", "nth": n, "output": TRANSIENT} for n in range(1, 20)]
    host.configure(faults=faults)
    with pytest.raises(errors.HostConnectionError):
        vmrun.list_running()
    assert len(host.calls()) == RETRY_ATTEMPTS


def test_an_exit_zero_error_is_still_a_failure(host: SimHost, vmrun: Vmrun, vmx: str) -> None:
    output = "Error: A snapshot with the name already exists"
    host.configure(faults=[{"verb": "snapshot", "nth": 1, "output": output, "exit_code": 0}])
    with pytest.raises(errors.SnapshotExistsError):
        vmrun.snapshot(vmx, "s")


def test_state_changing_verbs_are_not_retried(host: SimHost, vmrun: Vmrun, vmx: str) -> None:
    host.configure(faults=[{"verb": "start", "nth": 1, "output": TRANSIENT}])
    with pytest.raises(errors.HostConnectionError):
        vmrun.start(vmx)
    assert len(host.calls()) == 1
    assert host.vm(vmx).power is Power.OFF


def test_a_hanging_vmrun_times_out(host: SimHost, clock: FakeClock, vmx: str) -> None:
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock, timeout=30.0)
    host.configure(faults=[{"verb": "start", "nth": 1, "hang": True}])
    before = clock.monotonic()
    with pytest.raises(errors.CommandTimeout):
        vmrun.start(vmx)
    assert clock.monotonic() - before == pytest.approx(30.0)


def test_player_is_detected_once_and_kept(host: SimHost, clock: FakeClock, vmx: str) -> None:
    host.configure(product="player")
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", clock=clock)
    assert vmrun.host_type.value == "ws"  # until the host says otherwise
    vmrun.start(vmx)
    assert vmrun.host_type is HostType.PLAYER
    assert vmrun.list_running() == [vmx]
    assert [a[:3] for a in argvs(host)] == [
        ["-T", "ws", "start"],
        ["-T", "player", "start"],
        ["-T", "player", "list"],
    ]
    with pytest.raises(errors.NotSupportedError):
        vmrun.snapshot(vmx, "s")


def test_an_explicit_workstation_type_on_a_player_host_fails(host: SimHost, clock: FakeClock) -> None:
    host.configure(product="player")
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock)
    with pytest.raises(errors.PlayerOnlyHostError):
        vmrun.list_running()


def test_workstation_is_kept_when_it_answers(host: SimHost, clock: FakeClock, vmx: str) -> None:
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", clock=clock)
    vmrun.start(vmx)
    vmrun.list_running()
    assert vmrun.host_type is HostType.WORKSTATION
    assert {a[1] for a in argvs(host)} == {"ws"}


def test_player_is_detected_by_a_retried_query_too(host: SimHost, clock: FakeClock) -> None:
    host.configure(product="player")
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", clock=clock)
    assert vmrun.list_running() == []
    assert vmrun.host_type is HostType.PLAYER
    assert [a[1] for a in argvs(host)] == ["ws", "player"]


def test_relative_paths_reach_vmrun_absolute(
    vmrun: Vmrun, host: SimHost, vmx: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vmrun's list prints absolute paths, so a VM must be named by one to be found running."""
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(vmx)
    vmrun.start(relative)
    assert argvs(host)[-1][-2:] == [vmx, "nogui"]
    assert vmrun.list_running() == [vmx] and vmrun.is_running(relative)
    vmrun.stop(relative, StopMode.HARD)
    vmrun.clone(relative, "copy/copy.vmx", CloneKind.FULL)
    assert argvs(host)[-1][3:5] == [vmx, str(tmp_path / "copy" / "copy.vmx")]
