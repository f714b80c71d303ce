"""Guest operations against the simulated host: files, captured programs, streaming, waits, cleanup.

Programs really run (sandboxed by the simulator), so those tests are marked
``real_process``; the Windows wrapper cannot run here and is checked as rendered.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import errors
from toolkit.host.clock import FakeClock
from toolkit.host.exitcode import parse_exit_code
from toolkit.vmware.guest import (
    POWERSHELL,
    Guest,
    GuestOs,
    GuestResult,
    script_file,
    script_path,
    wrapper_argv,
)
from toolkit.vmware.guest_wrapper import EXIT_FILE, Poller, exit_code
from toolkit.vmware.vmrun import GuestCredentials, HostType, Vmrun
from vmtk_sim import SimHost, sandbox

BOOT_DELAY = 5.0
CREDS = GuestCredentials("vcap", "c1oudc0w")
F = TypeVar("F", bound=Callable[..., None])


def sandboxed(test: F) -> F:
    """Runs real guest programs: needs the simulator's sandbox."""
    skip = pytest.mark.skipif(sandbox.unavailable() is not None, reason=f"no sandbox: {sandbox.unavailable()}")
    return pytest.mark.real_process(skip(test))  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def host_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The VMware host's temp dir (where ``make_temp_dir`` stages files), watched by the tests."""
    folder = tmp_path / "host-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def host(tmp_path: Path, clock: FakeClock) -> SimHost:
    sim = SimHost(tmp_path / "sim", clock=clock)
    sim.configure(boot_delay=BOOT_DELAY)
    return sim


@pytest.fixture
def vmx(host: SimHost, tmp_path: Path, clock: FakeClock) -> str:
    """A VM that was just powered on: Tools come up ``BOOT_DELAY`` later."""
    path = host.make_vm(str(tmp_path / "vms" / "web" / "web.vmx"))
    Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock).start(path)
    return path


@pytest.fixture
def guest(host: SimHost, vmx: str, clock: FakeClock, host_tmp: Path) -> Guest:
    vmrun = Vmrun(host.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock)
    return Guest(vmrun, vmx, CREDS, clock=clock)


@pytest.fixture
def booted(guest: Guest, clock: FakeClock) -> Guest:
    clock.advance(BOOT_DELAY)
    return guest


def leftovers(host: SimHost, vmx: str, host_tmp: Path) -> list[str]:
    guest_tmp = host.vm(vmx).guest_root / "tmp"
    return sorted(p.name for p in [*guest_tmp.iterdir(), *host_tmp.iterdir()])


# --- files ---------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_bytes_round_trip_and_staging_is_removed(
    booted: Guest, host: SimHost, vmx: str, host_tmp: Path, data: bytes
) -> None:
    booted.put_bytes(data, "/tmp/blob")
    assert (host.vm(vmx).guest_root / "tmp" / "blob").read_bytes() == data
    assert booted.get_bytes("/tmp/blob") == data
    assert list(host_tmp.iterdir()) == []


def test_mkdir_creates_parents_and_tolerates_existing(booted: Guest, host: SimHost, vmx: str) -> None:
    booted.mkdir("/tmp/a/b/c")
    booted.mkdir("/tmp/a/b/c")
    assert (host.vm(vmx).guest_root / "tmp" / "a" / "b" / "c").is_dir()
    assert booted.is_dir("/tmp/a/b") and booted.exists("/tmp/a/b")
    booted.put_bytes(b"x", "/tmp/a/f")
    assert booted.exists("/tmp/a/f") and not booted.is_dir("/tmp/a/f")
    booted.remove("/tmp/a/f")
    booted.remove_dir("/tmp/a")
    assert not booted.exists("/tmp/a")


def test_copy_to_and_from(booted: Guest, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("there and back")
    booted.copy_to(str(source), "/tmp/in.txt")
    booted.copy_from("/tmp/in.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "there and back"


def test_a_missing_guest_file_is_reported(booted: Guest, host_tmp: Path) -> None:
    with pytest.raises(errors.GuestFileNotFoundError):
        booted.get_bytes("/tmp/absent")
    assert list(host_tmp.iterdir()) == []


# --- programs ----------------------------------------------------------------------------------


@sandboxed
def test_run_captures_exit_code_stdout_and_stderr_and_cleans_up(
    booted: Guest, host: SimHost, vmx: str, host_tmp: Path
) -> None:
    result = booted.run("/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.command == ("/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert leftovers(host, vmx, host_tmp) == []
    with pytest.raises(errors.GuestCommandError, match="exited with code 3") as caught:
        result.check()
    assert caught.value.stderr == "err\n"


@sandboxed
def test_arguments_reach_the_program_unchanged(booted: Guest) -> None:
    result = booted.run("/bin/sh", "-c", 'printf "%s|" "$@"', "sh", "a b", "it's", '"q"', "", "$HOME")
    assert result.check().stdout == 'a b|it\'s|"q"||$HOME|'


@sandboxed
def test_a_missing_program_is_a_result_not_an_error(booted: Guest) -> None:
    result = booted.run("/opt/none/such")
    assert (result.exit_code, result.program_missing) == (127, True)
    assert result.stderr == "'/opt/none/such' was not found in the guest\n"  # no wrapper path in it
    assert "run-captured" not in result.stdout + result.stderr


@sandboxed
def test_a_program_that_exits_127_itself_is_not_a_missing_one(booted: Guest) -> None:
    result = booted.run("/bin/sh", "-c", "echo gone >&2; exit 127")
    assert (result.exit_code, result.program_missing, result.stderr) == (127, False, "gone\n")


@sandboxed
def test_run_script_defaults_to_sh(booted: Guest, host: SimHost, vmx: str, host_tmp: Path) -> None:
    result = booted.run_script('echo "running $0"; echo done > /tmp/marker; exit 5\n')
    assert result.exit_code == 5
    assert result.stdout.startswith("running /tmp/vmtk-") and result.stdout.endswith("/script.sh\n")
    assert (host.vm(vmx).guest_root / "tmp" / "marker").read_text() == "done\n"
    assert leftovers(host, vmx, host_tmp) == ["marker"]


@sandboxed
def test_on_output_streams_output_as_it_comes(booted: Guest, host: SimHost, vmx: str, host_tmp: Path) -> None:
    seen: list[tuple[str, str]] = []
    script = "for i in 1 2 3; do echo line $i; sleep 0.2; done; echo oops >&2; exit 2"
    result = booted.run("/bin/sh", "-c", script, on_output=lambda stream, text: seen.append((stream, text)))
    assert result.exit_code == 2
    assert "".join(t for s, t in seen if s == "stdout") == result.stdout == "line 1\nline 2\nline 3\n"
    assert "".join(t for s, t in seen if s == "stderr") == "oops\n"
    assert len([s for s, _ in seen if s == "stdout"]) >= 2  # really streamed, not one chunk at the end
    assert leftovers(host, vmx, host_tmp) == []


@sandboxed
def test_streaming_timeout_kills_the_program_and_cleans_up(
    booted: Guest, host: SimHost, vmx: str, host_tmp: Path
) -> None:
    with pytest.raises(errors.CommandTimeout):
        booted.run("/bin/sleep", "30", timeout=5.0, on_output=lambda stream, text: None)
    assert not any("sleep" in p.command for p in booted.processes())
    assert leftovers(host, vmx, host_tmp) == []


@sandboxed
def test_blocking_timeout_propagates_and_cleans_up(booted: Guest, host: SimHost, vmx: str, host_tmp: Path) -> None:
    with pytest.raises(errors.CommandTimeout):
        booted.run("/bin/sleep", "30", timeout=0.5)
    assert leftovers(host, vmx, host_tmp) == []


def test_a_failed_run_still_removes_both_temp_dirs(guest: Guest, host: SimHost, vmx: str, host_tmp: Path) -> None:
    # Tools are not up yet: the workspace cannot even be created in the guest.
    with pytest.raises(errors.ToolsNotRunningError):
        guest.run("/bin/true")
    assert list(host_tmp.iterdir()) == []


def test_result_check_passes_success_through() -> None:
    result = GuestResult(("/bin/true",), 0, "", "", 0.0)
    assert result.check() is result


# --- Windows wrappers, as rendered (they cannot run here) ------------------------------------------


def test_windows_programs_run_through_the_powershell_wrapper() -> None:
    folder = r"C:\Windows\Temp\vmtk-1"
    argv = wrapper_argv(GuestOs.WINDOWS, folder, [r"C:\Program Files\App\app.exe", "a b"])
    assert argv == [
        POWERSHELL,
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        r"C:\Windows\Temp\vmtk-1\run-captured.ps1",
        folder,
        r"C:\Program Files\App\app.exe",
        "a b",
    ]


def test_linux_programs_run_through_the_sh_wrapper() -> None:
    argv = wrapper_argv(GuestOs.LINUX, "/tmp/vmtk-1", ["/bin/echo", "x"])
    assert argv == ["/bin/sh", "/tmp/vmtk-1/run-captured.sh", "/tmp/vmtk-1", "/bin/echo", "x"]


def test_script_files_per_guest() -> None:
    launcher, name, data = script_file(GuestOs.WINDOWS, "Write-Output 'é'", None)
    assert launcher[0] == POWERSHELL and launcher[-1] == "-File" and name == "script.ps1"
    assert data == b"\xef\xbb\xbf" + "Write-Output 'é'".encode()  # PowerShell 5 needs the BOM for UTF-8
    assert script_file(GuestOs.LINUX, "echo", None) == (("/bin/sh",), "script.sh", b"echo")
    assert script_file(GuestOs.LINUX, "print(1)", "/usr/bin/python3") == (
        ("/usr/bin/python3",),
        "script",
        b"print(1)",
    )


def test_wrappers_ship_and_propagate_the_exit_code() -> None:
    sh = Path(script_path("run-captured.sh")).read_text()
    assert sh.startswith("#!/bin/sh\n") and 'exit "$code"' in sh and '"$@"' in sh
    ps1 = Path(script_path("run-captured.ps1")).read_text()
    assert "exit $code" in ps1 and "$process.ExitCode" in ps1 and "Quote-Argument" in ps1


# --- waits ------------------------------------------------------------------------------------------


def test_wait_for_tools_polls_until_running(guest: Guest, clock: FakeClock) -> None:
    before = clock.monotonic()
    guest.wait_for_tools(timeout=60.0, interval=1.0)
    assert clock.monotonic() - before == pytest.approx(BOOT_DELAY)


def test_wait_for_tools_times_out(guest: Guest) -> None:
    with pytest.raises(errors.WaitTimeout, match="VMware Tools"):
        guest.wait_for_tools(timeout=2.0)


def test_wait_for_process_tolerates_tools_not_running(guest: Guest, clock: FakeClock) -> None:
    before = clock.monotonic()
    found = guest.wait_for_process("cron", min_wait=1.0, max_wait=60.0)
    assert found.name == "cron" and found.command == "/usr/sbin/cron -f"
    assert clock.monotonic() - before == pytest.approx(BOOT_DELAY)


def test_wait_for_process_times_out_naming_the_process(booted: Guest) -> None:
    with pytest.raises(errors.WaitTimeout, match="'nginx'"):
        booted.wait_for_process("nginx", max_wait=3.0)


def test_wait_for_process_never_tolerates_bad_credentials(guest: Guest, vmx: str, clock: FakeClock) -> None:
    clock.advance(BOOT_DELAY)
    wrong = Guest(guest.vmrun, vmx, GuestCredentials("vcap", "nope"), clock=clock)
    before = clock.monotonic()
    with pytest.raises(errors.GuestAuthError):
        wrong.wait_for_process("cron", max_wait=60.0)
    assert clock.monotonic() == before


class _Files:
    """A guest workspace whose files appear as ``poll`` counts fetches of the exit-code file."""

    def __init__(self, exit_after: int | None, fail: errors.ToolkitError | None = None) -> None:
        self.polls = 0
        self._exit_after = exit_after
        self._fail = fail

    def fetch(self, name: str) -> bytes | None:
        if name != EXIT_FILE:
            return b"line\n" * self.polls if name == "stdout" else None
        self.polls += 1
        if self._fail is not None:
            raise self._fail
        return b"0\n" if self._exit_after is not None and self.polls > self._exit_after else None


def test_the_poller_streams_until_the_exit_file_appears() -> None:
    clock, seen = FakeClock(), []
    files = _Files(exit_after=2)
    Poller(files, lambda stream, text: seen.append(text), clock).until_done(clock.monotonic() + 10, ("prog",), 10)
    assert files.polls == 3 and "".join(seen) == "line\n" * 3


def test_the_poller_times_out_as_a_command_and_leaves_transient_errors_to_its_caller() -> None:
    clock = FakeClock()
    with pytest.raises(errors.CommandTimeout, match="'prog' did not finish within 2 s"):
        Poller(_Files(exit_after=None), lambda s, t: None, clock).until_done(clock.monotonic() + 2, ("prog",), 2)
    failing = _Files(exit_after=None, fail=errors.ToolsNotRunningError("rebooting"))
    with pytest.raises(errors.ToolsNotRunningError):
        Poller(failing, lambda s, t: None, clock).until_done(clock.monotonic() + 10, ("prog",), 10)
    assert failing.polls == 1


def test_the_wrappers_exit_code_and_vmruns_fallback() -> None:
    assert exit_code(b"-3 \r\n", 0) == -3 and parse_exit_code("255 \r\n") == 255
    assert exit_code(b"--5\n", 7) == 7 and exit_code(b"", None) == -1 and exit_code(None, 4) == 4
    assert parse_exit_code("\u00b2") is None  # a digit to str.isdigit, not to int()
