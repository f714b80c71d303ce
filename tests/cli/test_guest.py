"""``vmtk guest``: files and programs in a simulated guest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok, tree
from vmtk_cli.guest import split_location
from vmtk_sim import SimHost


@pytest.fixture
def booted(sim: SimHost, running_vmx: str) -> str:
    sim.clock.advance(5)
    return running_vmx


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vm/one.vmx:/tmp/x", ("vm/one.vmx", "/tmp/x")),
        ("/abs/One.VMX:/etc/hosts", ("/abs/One.VMX", "/etc/hosts")),
        (r"C:\vms\a.vmx:C:\Temp\x.txt", (r"C:\vms\a.vmx", r"C:\Temp\x.txt")),
        (r"C:\data\file.txt", (None, r"C:\data\file.txt")),
        ("./local.txt", (None, "./local.txt")),
    ],
)
def test_split_location(text: str, expected: tuple[str | None, str]) -> None:
    assert split_location(text) == expected


def test_cp_both_directions(vmtk: Vmtk, sim: SimHost, booted: str, tmp_path: Path) -> None:
    local = tmp_path / "hello.txt"
    local.write_text("hello guest\n")
    assert_ok(vmtk("guest", "cp", str(local), f"{booted}:/tmp/hello.txt"))
    assert (sim.vm(booted).guest_root / "tmp" / "hello.txt").read_text() == "hello guest\n"
    back = tmp_path / "back.txt"
    assert_ok(vmtk("guest", "cp", f"{booted}:/tmp/hello.txt", str(back)))
    assert back.read_text() == "hello guest\n"


def test_cp_needs_exactly_one_guest_side(vmtk: Vmtk, tmp_path: Path) -> None:
    result = vmtk("guest", "cp", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.exit_code == 2 and "VMX:PATH" in result.stderr


def test_cp_of_a_missing_guest_file(vmtk: Vmtk, booted: str, tmp_path: Path) -> None:
    assert_error(vmtk("guest", "cp", f"{booted}:/no/such/file", str(tmp_path / "x")))


@pytest.mark.real_process
def test_a_missing_guest_program_is_one_error_with_exit_127(vmtk: Vmtk, booted: str) -> None:
    result = vmtk("guest", "run", booted, "/no/such/program")
    assert result.exit_code == 127 and result.stdout == ""
    assert result.stderr == "Error: '/no/such/program' was not found in the guest\n"


@pytest.mark.real_process
def test_run_prints_output_and_exits_with_the_programs_code(vmtk: Vmtk, booted: str) -> None:
    result = vmtk("guest", "run", booted, "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.exit_code == 3
    assert result.stdout == "out\n" and result.stderr == "err\n"


@pytest.mark.real_process
def test_run_success(vmtk: Vmtk, booted: str) -> None:
    assert assert_ok(vmtk("guest", "run", booted, "/bin/echo", "-n", "hi")).stdout == "hi"


def test_run_on_a_stopped_vm_says_to_start_it(vmtk: Vmtk, vmx: str) -> None:
    assert_error(vmtk("guest", "run", vmx, "/bin/true"), "vmtk vm start")


def test_bad_guest_password_is_one_line_without_the_password(app, vmtk: Vmtk, booted: str) -> None:  # type: ignore[no-untyped-def]
    app.environ = {"VMTK_GUEST_PASSWORD": "wrong-pw"}
    line = assert_error(vmtk("guest", "ps", booted), "--guest-user")
    assert "wrong-pw" not in line


def test_ps_lists_processes_as_text_and_json(vmtk: Vmtk, booted: str) -> None:
    listed = json.loads(assert_ok(vmtk("guest", "ps", booted, "--json")).stdout)
    assert listed and {"pid", "owner", "command"} <= set(listed[0])
    text = assert_ok(vmtk("guest", "ps", booted)).stdout
    assert text.splitlines()[0].split() == ["PID", "OWNER", "COMMAND"]


def test_kill_removes_the_process(vmtk: Vmtk, booted: str) -> None:
    listed = json.loads(assert_ok(vmtk("guest", "ps", booted, "--json")).stdout)
    victim = max(p["pid"] for p in listed)
    assert_ok(vmtk("guest", "kill", booted, str(victim)))
    after = json.loads(assert_ok(vmtk("guest", "ps", booted, "--json")).stdout)
    assert victim not in {p["pid"] for p in after}


def test_wait_for_tools_then_for_a_process(vmtk: Vmtk, sim: SimHost, running_vmx: str) -> None:
    sim.configure(boot_delay=20.0)
    assert_ok(vmtk("guest", "wait", running_vmx, "--timeout", "60"))
    listed = json.loads(assert_ok(vmtk("guest", "ps", running_vmx, "--json")).stdout)
    name = Path(listed[0]["command"].split()[0]).name
    assert assert_ok(vmtk("guest", "wait", running_vmx, "--process", name)).stdout.strip().isdigit()


def test_wait_times_out_in_one_line(vmtk: Vmtk, booted: str) -> None:
    assert_error(vmtk("guest", "wait", booted, "--process", "no-such-proc", "--timeout", "5"), "timed out")


def test_mkdir_exists_rm(vmtk: Vmtk, sim: SimHost, booted: str) -> None:
    assert vmtk("guest", "exists", booted, "/opt/app").exit_code == 1
    assert_ok(vmtk("guest", "mkdir", booted, "/opt/app"))
    assert (sim.vm(booted).guest_root / "opt" / "app").is_dir()
    assert_ok(vmtk("guest", "exists", booted, "/opt/app"))
    assert_ok(vmtk("guest", "rm", booted, "-r", "/opt/app"))
    assert not (sim.vm(booted).guest_root / "opt" / "app").exists()


def test_rm_of_a_file(vmtk: Vmtk, sim: SimHost, booted: str) -> None:
    target = sim.vm(booted).guest_root / "tmp" / "gone.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("x")
    assert_ok(vmtk("guest", "rm", booted, "/tmp/gone.txt"))
    assert not target.exists()


def test_cp_of_a_missing_host_file_says_the_host_file_is_missing(
    vmtk: Vmtk, sim: SimHost, booted: str, tmp_path: Path
) -> None:
    before = tree(sim.vm(booted).guest_root)
    line = assert_error(
        vmtk("guest", "cp", str(tmp_path / "nope.txt"), f"{booted}:/tmp/x"),
        "host file",
        "nope.txt",
        "check the host path",
    )
    assert "guest path" not in line
    assert tree(sim.vm(booted).guest_root) == before


def test_cp_of_a_host_directory_is_refused(vmtk: Vmtk, booted: str, tmp_path: Path) -> None:
    assert_error(vmtk("guest", "cp", str(tmp_path), f"{booted}:/tmp/x"), "is a directory")


def test_cp_into_a_missing_host_directory_names_it(vmtk: Vmtk, booted: str, tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "hostname"
    line = assert_error(vmtk("guest", "cp", f"{booted}:/etc/hostname", str(target)), str(target.parent))
    assert "guest path" not in line and not target.parent.exists()


def test_kill_of_a_missing_process_changes_nothing(vmtk: Vmtk, booted: str) -> None:
    before = json.loads(assert_ok(vmtk("guest", "ps", booted, "--json")).stdout)
    assert_error(vmtk("guest", "kill", booted, "999999"), "process does not exist")
    assert json.loads(assert_ok(vmtk("guest", "ps", booted, "--json")).stdout) == before


def test_mkdir_over_a_file_fails_and_keeps_the_file(vmtk: Vmtk, sim: SimHost, booted: str) -> None:
    before = tree(sim.vm(booted).guest_root)
    assert_error(vmtk("guest", "mkdir", booted, "/etc/hostname/sub"), "already exists")
    assert tree(sim.vm(booted).guest_root) == before


def test_rm_of_a_missing_file_points_at_the_guest_path(vmtk: Vmtk, sim: SimHost, booted: str) -> None:
    before = tree(sim.vm(booted).guest_root)
    assert_error(vmtk("guest", "rm", booted, "/no/such/file"), "check the guest path")
    assert_error(vmtk("guest", "rm", booted, "-r", "/no/such/dir"), "check the guest path")
    assert tree(sim.vm(booted).guest_root) == before
