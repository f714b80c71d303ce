"""vmrun's text read as Python values: the error table and the parsers, on captured output."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit import errors
from toolkit.host.runner import Completed
from toolkit.vmware.vmrun_output import (
    FAILURES,
    GuestProcess,
    Snapshot,
    ToolsState,
    classify,
    error_text,
    judge,
    parse_dir_list,
    parse_exists,
    parse_guest_exit,
    parse_guest_ip,
    parse_list,
    parse_processes,
    parse_snapshots,
    parse_tools_state,
)

CAPTURED = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "vmrun"


def captured(name: str, *, crlf: bool = False) -> str:
    text = (CAPTURED / name).read_text(encoding="utf-8")
    return text.replace("\n", "\r\n") if crlf else text


# Each table entry with the captured output that exercises it.
CAPTURED_FAILURES = [
    ("player-only-host-ws.txt", errors.PlayerOnlyHostError),
    ("host-version.txt", errors.VmrunError),
    ("host-transient.txt", errors.HostConnectionError),
    ("not-supported.txt", errors.NotSupportedError),
    ("player-snapshot.txt", errors.NotSupportedError),
    ("fusion-player-type.txt", errors.NotSupportedError),
    ("encrypted-wrong-pw.txt", errors.VmPasswordError),
    ("cannot-be-found.txt", errors.VmNotFoundError),
    ("cannot-read-config.txt", errors.VmxUnreadableError),
    ("not-powered-on.txt", errors.VmNotRunningError),
    ("already-running.txt", errors.VmRunningError),
    ("paused.txt", errors.VmPausedError),
    ("in-use.txt", errors.VmInUseError),
    ("cancelled.txt", errors.OperationCanceledError),
    ("tools-not-running.txt", errors.ToolsNotRunningError),
    ("guest-bad-login.txt", errors.GuestAuthError),
    ("anonymous-guest.txt", errors.GuestAuthError),
    ("guest-file-not-found.txt", errors.GuestFileNotFoundError),
    ("getguestip-noip.txt", errors.GuestIpUnavailableError),
    ("snapshot-exists.txt", errors.SnapshotExistsError),
    ("snapshot-missing.txt", errors.SnapshotNotFoundError),
    ("clone-invalid-snapshot.txt", errors.SnapshotNotFoundError),
    ("clone-state-unchanged.txt", errors.SnapshotUnchangedError),
]
# Table entries no fixture captures: the exact text from the error catalogue (§1.5).
CATALOGUE_FAILURES = [
    ("Error: A password is required", errors.VmPasswordError),
    ("Error: Insufficient permissions in the guest operating system", errors.GuestPermissionError),
    ("Error: Unknown error", errors.TransientVmrunError),
]


def failing(output: str, exit_code: int = 255) -> Completed:
    return Completed(("vmrun",), exit_code, output, "")


@pytest.mark.parametrize(("name", "expected"), CAPTURED_FAILURES)
def test_each_captured_error_is_classified(name: str, expected: type[errors.VmrunError]) -> None:
    with pytest.raises(errors.VmrunError) as caught:
        judge(failing(captured(name)), verb="start", vmx="", argv=["vmrun", "start"])
    assert type(caught.value) is expected


@pytest.mark.parametrize(("text", "expected"), CATALOGUE_FAILURES)
def test_catalogue_errors_without_a_capture_are_classified(text: str, expected: type[errors.VmrunError]) -> None:
    assert classify(error_text(text) or "") is expected


def test_every_table_entry_is_exercised_by_a_test() -> None:
    texts = [captured(name) for name, _ in CAPTURED_FAILURES] + [t for t, _ in CATALOGUE_FAILURES]
    for needle, _cls in FAILURES:
        assert any(needle.lower() in text.lower() for text in texts), needle


def test_transience_follows_the_catalogue() -> None:
    transient = {name for name, cls in CAPTURED_FAILURES if cls.transient}
    assert transient == {"host-transient.txt", "in-use.txt", "tools-not-running.txt", "getguestip-noip.txt"}
    assert not errors.GuestAuthError.transient


def test_a_path_in_the_message_does_not_steer_the_classification() -> None:
    vmx = "/vms/is paused/cannot be found.vmx"
    text = f"The virtual machine is not powered on: {vmx}"
    assert classify(text, vmx=vmx) is errors.VmNotRunningError


def test_an_error_line_fails_even_with_exit_zero() -> None:
    with pytest.raises(errors.SnapshotExistsError):
        judge(failing(captured("snapshot-exists.txt"), exit_code=0), verb="snapshot", vmx="", argv=["vmrun"])


def test_warning_noise_before_the_error_line_is_ignored_and_crlf_stripped() -> None:
    noise = "Warning: program compiled against libxml 210 using older 209\r\n"
    done = Completed(("vmrun",), 255, captured("in-use.txt", crlf=True), noise)
    with pytest.raises(errors.VmInUseError) as caught:
        judge(done, verb="start", vmx="/v.vmx", argv=["vmrun", "start", "/v.vmx"])
    assert caught.value.message == "vmrun start failed: This VM is in use."
    assert "\r" not in caught.value.output and "libxml" in caught.value.output


def test_a_failure_without_an_error_line_keeps_its_last_line() -> None:
    with pytest.raises(errors.VmrunError) as caught:
        judge(failing("something odd happened\n", exit_code=1), verb="x", vmx="", argv=["vmrun"])
    assert type(caught.value) is errors.VmrunError
    assert caught.value.exit_code == 1 and "something odd happened" in str(caught.value)


def test_answers_with_a_non_zero_exit_are_not_failures() -> None:
    done = failing(captured("checktoolsstate-unknown.txt"), exit_code=254)
    assert judge(done, verb="checkToolsState", vmx="", argv=["vmrun"], answers=("unknown",)) == "unknown\n"
    with pytest.raises(errors.VmrunError):
        judge(done, verb="checkToolsState", vmx="", argv=["vmrun"])


def test_secrets_never_reach_the_exception() -> None:
    argv = ["vmrun", "-T", "ws", "-gu", "vcap", "-gp", "s3cret-pw", "deleteFileInGuest", "/v.vmx", "/x"]
    done = Completed(tuple(argv), 255, "Error: A file was not found: s3cret-pw\n", "")
    with pytest.raises(errors.GuestFileNotFoundError) as caught:
        judge(done, verb="deleteFileInGuest", vmx="/v.vmx", argv=argv, secrets=["s3cret-pw"])
    assert "s3cret-pw" not in str(caught.value) + repr(caught.value.argv) + caught.value.output
    assert caught.value.argv[6] == "***"


# --- parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize("crlf", [False, True])
def test_list(crlf: bool) -> None:
    assert parse_list(captured("list-running.txt", crlf=crlf)) == [r"C:\vms\web\web.vmx"]
    assert parse_list(captured("list-empty.txt", crlf=crlf)) == []


def test_list_ignores_lines_that_are_not_paths() -> None:
    text = "SSLConfigLoad: Failed to load OpenSSL config file.\nTotal running VMs: 2\n/a b/x.vmx\n\n/c/y.VMX\n"
    assert parse_list(text) == ["/a b/x.vmx", "/c/y.VMX"]


def test_snapshots_flat_and_tree() -> None:
    assert parse_snapshots(captured("listsnapshots-empty.txt")) == []
    assert parse_snapshots(captured("listsnapshots-flat.vmctl.txt")) == [
        Snapshot("before-test", 0),
        Snapshot("third", 0),
    ]
    assert parse_snapshots(captured("listsnapshots-tree.txt", crlf=True)) == [
        Snapshot("s1", 0),
        Snapshot("s2 with space", 1),
        Snapshot("s3", 2),
    ]


names = st.text(st.characters(blacklist_characters="\t\r\n"), min_size=1).filter(
    lambda s: s.strip() == s and not s.startswith("Total snapshots:")
)


@given(st.lists(st.tuples(names, st.integers(0, 5)), max_size=8))
def test_snapshot_tree_round_trips(tree: list[tuple[str, int]]) -> None:
    text = f"Total snapshots: {len(tree)}\n" + "".join("\t" * d + n + "\n" for n, d in tree)
    assert parse_snapshots(text) == [Snapshot(n, d) for n, d in tree]


def test_linux_processes() -> None:
    procs = parse_processes(captured("processes-linux.mech.txt"))
    assert procs == [GuestProcess(1, "root", "/sbin/init"), GuestProcess(2, "root", "kthreadd")]
    assert [p.name for p in procs] == ["init", "kthreadd"]


def test_windows_processes_keep_spaces_backslashes_and_commas() -> None:
    procs = parse_processes(captured("processes-windows.txt", crlf=True))
    assert [(p.pid, p.owner) for p in procs] == [
        (4, r"NT AUTHORITY\SYSTEM"),
        (4120, r"WIN\Administrator"),
        (4188, r"WIN\Administrator"),
    ]
    assert procs[1].command == r'"C:\Windows\System32\cmd.exe" /c C:\WINDOWS\TEMP\VMH-X.CMD >x.out 2>x.err'
    assert [p.name for p in procs] == ["System", "cmd.exe", "long.exe"]


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("/var/vcap/bosh/bin/bosh-agent -P ubuntu -C /var/vcap/bosh/agent.json", "bosh-agent"),
        ("ksoftirqd/0", "ksoftirqd/0"),
        (r"C:\Program Files\VMware\VMware Tools\vmtoolsd.exe -n vmusr", "vmtoolsd.exe"),
        ('"C:\\bosh\\bosh-agent.exe" -C agent.json', "bosh-agent.exe"),
        ("", ""),
    ],
)
def test_process_name_is_the_program_basename(command: str, name: str) -> None:
    assert GuestProcess(1, "root", command).name == name


owners = st.text(st.characters(blacklist_characters="\r\n,"), min_size=1)
commands = st.text(st.characters(blacklist_characters="\r\n"), min_size=1).filter(lambda s: s.strip())


@given(st.lists(st.tuples(st.integers(0, 2**31), owners, commands), max_size=6))
def test_process_lines_round_trip(rows: list[tuple[int, str, str]]) -> None:
    text = f"Process list: {len(rows)}\n" + "".join(f"pid={p}, owner={o}, cmd={c}\n" for p, o, c in rows)
    assert parse_processes(text) == [GuestProcess(p, o, c) for p, o, c in rows]


def test_tools_state() -> None:
    assert parse_tools_state(captured("checktoolsstate-unknown.txt")) is ToolsState.UNKNOWN
    assert parse_tools_state("running\r\n") is ToolsState.RUNNING
    assert parse_tools_state("installed\n") is ToolsState.INSTALLED
    with pytest.raises(errors.VmrunError):
        parse_tools_state("Error: Unknown error\n")


def test_guest_ip() -> None:
    assert parse_guest_ip(captured("getguestip-ok.txt", crlf=True)) == "192.168.80.130"
    assert parse_guest_ip(captured("getguestip-noip.txt")) is None
    assert parse_guest_ip("unknown\n") is None
    assert parse_guest_ip("999.1.1.1\n") is None
    # A wrong NIC's ".1" address is reported as vmrun gives it (open-vm-tools#93).
    assert parse_guest_ip("192.168.80.1\n") == "192.168.80.1"


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("file-exists.txt", True),
        ("file-not-exists.txt", False),
        ("dir-exists.txt", True),
        ("dir-not-exists.txt", False),
    ],
)
def test_exists_answers(name: str, answer: bool) -> None:
    assert parse_exists(captured(name, crlf=True)) is answer


def test_exists_refuses_an_unexpected_answer() -> None:
    with pytest.raises(errors.VmrunError):
        parse_exists("\n")


def test_directory_list() -> None:
    assert parse_dir_list("Directory list: 2\r\na file\r\nsub\r\n") == ["a file", "sub"]
    assert parse_dir_list("Directory list: 0\n") == []


def test_guest_exit_code() -> None:
    assert parse_guest_exit(captured("guest-exit-nonzero.txt", crlf=True)) == 3
    assert parse_guest_exit("") == 0
