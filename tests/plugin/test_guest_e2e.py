"""Guest operations end to end through the plugin's ``vm`` fixture, on the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.conftest import needs_sandbox
from toolkit.errors import GuestCommandError, GuestFileNotFoundError, WaitTimeout
from vmtk_harness.harness import LabVm

pytestmark = [pytest.mark.real_process, needs_sandbox]


def test_files_copy_in_and_out_byte_for_byte(vm: LabVm, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 64
    source = tmp_path / "in.bin"
    source.write_bytes(payload)

    vm.guest.put(source, "/tmp/in.bin")
    vm.guest.put(b"small\n", "/tmp/small.txt")

    assert vm.guest.get("/tmp/in.bin") == payload
    assert vm.guest.get_file("/tmp/small.txt", tmp_path / "out.txt").read_bytes() == b"small\n"
    assert vm.guest.exists("/tmp/in.bin")


def test_copying_a_missing_guest_file_fails_and_is_recorded(vm: LabVm) -> None:
    with pytest.raises(GuestFileNotFoundError):
        vm.guest.get("/no/such/file")

    last = vm.transcript.records[-1]
    assert (last.action, last.subject) == ("get", "/no/such/file")
    assert "A file was not found" in last.error


def test_a_command_returns_its_own_exit_code_and_both_streams(vm: LabVm) -> None:
    result = vm.guest.run("/bin/sh", "-c", "printf 'a\\nb\\n'; echo problem >&2; exit 42")

    assert (result.exit_code, result.stdout, result.stderr) == (42, "a\nb\n", "problem\n")
    assert result.command == ("/bin/sh", "-c", "printf 'a\\nb\\n'; echo problem >&2; exit 42")
    assert result.duration >= 0


def test_check_raises_with_the_command_exit_code_and_output(vm: LabVm) -> None:
    with pytest.raises(GuestCommandError) as caught:
        vm.guest.sh("echo last words; exit 7").check()

    assert caught.value.exit_code == 7
    assert "exited with code 7: /bin/sh -c echo last words; exit 7" in str(caught.value)
    assert "    last words" in str(caught.value)


def test_commands_change_the_guest_and_run_as_the_guest_user(vm: LabVm) -> None:
    vm.guest.mkdir("/var/vcap/data/app")
    vm.guest.sh("echo $USER > /var/vcap/data/app/who").check()

    assert vm.guest.get("/var/vcap/data/app/who") == b"vcap\n"
    vm.guest.remove("/var/vcap/data/app/who")
    assert not vm.guest.exists("/var/vcap/data/app/who")


def test_a_script_runs_with_the_interpreter_asked_for(vm: LabVm) -> None:
    result = vm.guest.run_script("echo from a script: $0\n", interpreter="/bin/sh").check()

    assert result.stdout.startswith("from a script: /tmp/")


def test_processes_list_the_booted_guest_and_started_programs(vm: LabVm) -> None:
    vm.guest.start("/bin/sleep", "300")

    names = {process.name for process in vm.guest.processes()}

    assert {"init", "vmtoolsd", "sleep"} <= names


def test_wait_for_process_finds_a_program_and_kill_ends_it(vm: LabVm) -> None:
    vm.guest.start("/bin/sleep", "300")
    found = vm.guest.wait_for_process("sleep", timeout=10, interval=0.1)

    vm.guest.kill(found.pid)

    assert found.pid not in {process.pid for process in vm.guest.processes()}


def test_wait_for_process_gives_up_after_its_timeout(vm: LabVm) -> None:
    with pytest.raises(WaitTimeout, match="process 'never-started'"):
        vm.guest.wait_for_process("never-started", timeout=0.3, interval=0.1)


@pytest.mark.parametrize("vm", [{"memory": 2048, "cpus": 2}], indirect=True)
def test_the_vm_has_the_parametrised_hardware(vm: LabVm) -> None:
    text = Path(vm.vmx).read_text()

    assert 'memsize = "2048"' in text and 'numvcpus = "2"' in text


def test_each_vm_of_a_test_has_its_own_guest(vm_factory) -> None:  # type: ignore[no-untyped-def]
    first, second = vm_factory(), vm_factory()
    first.guest.put(b"only in the first\n", "/tmp/marker")

    assert first.guest.exists("/tmp/marker")
    assert not second.guest.exists("/tmp/marker")
