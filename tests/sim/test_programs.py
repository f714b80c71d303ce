"""Guest programs really run, confined by bubblewrap to the VM's guest root."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.sim.conftest import GUEST, Vmrun
from toolkit.errors import CommandTimeout
from vmtk_sim import SimHost, sandbox

pytestmark = [
    pytest.mark.real_process,
    pytest.mark.skipif(sandbox.unavailable() is not None, reason=f"no sandbox: {sandbox.unavailable()}"),
]


def run(vmrun: Vmrun, vmx: str, *argv: str, timeout: float = 60.0) -> tuple[int, str]:
    answer = vmrun(*GUEST, "runProgramInGuest", vmx, *argv, timeout=timeout)
    return answer.exit_code, answer.stdout


def test_a_program_runs_in_the_guest_and_its_effects_stay_there(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    assert run(vmrun, booted, "/bin/sh", "-c", "echo hello > /root/out.txt") == (0, "")
    assert (host.vm(booted).guest_root / "root" / "out.txt").read_text() == "hello\n"


def test_a_non_zero_exit_is_reported_the_way_vmrun_does(vmrun: Vmrun, booted: str) -> None:
    assert run(vmrun, booted, "/bin/sh", "-c", "exit 3") == (
        1,
        "Guest program exited with non-zero exit code: 3\n",
    )


def test_a_missing_program_is_a_missing_file(vmrun: Vmrun, booted: str) -> None:
    assert run(vmrun, booted, "/opt/nothing/here") == (255, "Error: A file was not found\n")


def test_copy_in_run_copy_out(vmrun: Vmrun, booted: str, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\ntr a-z A-Z < /tmp/in > /tmp/out\nexit 0\n")
    data = tmp_path / "in"
    data.write_text("shout\n")
    vmrun(*GUEST, "CopyFileFromHostToGuest", booted, str(script), "/tmp/job.sh")
    vmrun(*GUEST, "CopyFileFromHostToGuest", booted, str(data), "/tmp/in")
    assert run(vmrun, booted, "/bin/sh", "/tmp/job.sh") == (0, "")
    vmrun(*GUEST, "CopyFileFromGuestToHost", booted, "/tmp/out", str(tmp_path / "out"))
    assert (tmp_path / "out").read_text() == "SHOUT\n"


def test_a_program_cannot_write_outside_its_guest_root(vmrun: Vmrun, booted: str, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    attempt = f"echo escaped > {target}; echo x > /usr/planted; touch /proc/planted; exit 0"
    run(vmrun, booted, "/bin/sh", "-c", attempt)
    assert not target.exists()
    assert not Path("/usr/planted").exists()
    assert run(vmrun, booted, "/bin/sh", "-c", "test -w /usr/bin")[0] == 1


def test_run_script_writes_the_text_to_the_guest_and_runs_the_interpreter(
    vmrun: Vmrun, booted: str, host: SimHost
) -> None:
    answer = vmrun(*GUEST, "runScriptInGuest", booted, "/bin/sh", "echo scripted > /tmp/s.txt\nexit 4\n")
    assert (answer.exit_code, answer.stdout) == (1, "Guest program exited with non-zero exit code: 4\n")
    assert (host.vm(booted).guest_root / "tmp" / "s.txt").read_text() == "scripted\n"


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_no_wait_programs_are_listed_until_killed(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    assert run(vmrun, booted, "-noWait", "/bin/sleep", "300") == (0, "")
    listed = [p for p in host.vm(booted).processes if p.command == "/bin/sleep 300"]
    assert len(listed) == 1 and listed[0].owner == "vcap"
    ps = vmrun(*GUEST, "listProcessesInGuest", booted).stdout
    assert f"pid={listed[0].pid}, owner=vcap, cmd=/bin/sleep 300" in ps
    assert vmrun(*GUEST, "killProcessInGuest", booted, str(listed[0].pid)).exit_code == 0
    wait_for(lambda: not sandbox.alive(listed[0].host_pid))
    assert "/bin/sleep 300" not in vmrun(*GUEST, "listProcessesInGuest", booted).stdout


def test_stopping_the_vm_kills_its_programs(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    run(vmrun, booted, "-noWait", "/bin/sleep", "300")
    host_pid = host.vm(booted).processes[-1].host_pid
    vmrun("stop", booted, "hard")
    wait_for(lambda: not sandbox.alive(host_pid))


def test_a_program_past_the_callers_timeout_is_killed(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        run(vmrun, booted, "/bin/sleep", "300", timeout=0.5)
    assert time.monotonic() - started < 10
    assert not [p for p in host.vm(booted).processes if p.host_pid]


def test_programs_see_the_guest_users_environment(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    run(vmrun, booted, "/bin/sh", "-c", 'echo "$HOME $USER $PWD" > /tmp/env')
    assert (host.vm(booted).guest_root / "tmp" / "env").read_text() == "/home/vcap vcap /\n"


def test_guest_programs_do_not_see_host_files(vmrun: Vmrun, booted: str, tmp_path: Path) -> None:
    (tmp_path / "visible-on-host").write_text("x")
    assert run(vmrun, booted, "/bin/sh", "-c", f"test -e {tmp_path}/visible-on-host")[0] == 1
    assert os.path.exists(tmp_path / "visible-on-host")


def test_programs_run_as_the_guest_user_not_as_the_hosts(vmrun: Vmrun, booted: str, host: SimHost) -> None:
    # Tools run a guest program as the user given with -gu (vcap), with that user's identity.
    run(vmrun, booted, "/bin/sh", "-c", "id -un > /tmp/who; id -u >> /tmp/who; echo $HOME >> /tmp/who")
    assert (host.vm(booted).guest_root / "tmp" / "who").read_text().split() == ["vcap", "1000", "/home/vcap"]
