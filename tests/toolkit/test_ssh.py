"""The SSH runner against a real OpenSSH server on 127.0.0.1, and Windows command lines against an
emulation of cmd.exe and the C runtime."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.support.sshd import Sshd, start_sshd_with_every_host_key_type, stop_sshd
from toolkit.errors import (
    CommandTimeout,
    ConfigError,
    HostFileNotFound,
    LockTimeout,
    SshError,
)
from toolkit.host.clock import FakeClock
from toolkit.host.ssh.command import quote_argv
from toolkit.host.ssh.runner import SshRunner
from toolkit.host.ssh.target import HostPlatform, SshTarget

pytestmark = pytest.mark.real_process
PY = sys.executable


@pytest.fixture
def runner(sshd: Sshd) -> Iterator[SshRunner]:
    with SshRunner(SshTarget.from_mapping(sshd.ssh_tunnel())) as ssh:
        yield ssh


def test_runs_programs_with_exit_codes_streams_and_stdin(runner: SshRunner) -> None:
    seen: list[str] = []
    done = runner.run(
        [PY, "-c", "import sys; d=sys.stdin.read(); print(d.upper()); print('e', file=sys.stderr); sys.exit(4)"],
        timeout=30,
        stdin=b"hello",
        on_output=seen.append,
    )
    assert (done.exit_code, done.stdout.strip(), done.stderr.strip()) == (4, "HELLO", "e")
    assert "".join(seen).strip() == "HELLO"


def test_arguments_with_spaces_and_quotes_arrive_intact(runner: SshRunner) -> None:
    weird = ["/Applications/VMware Fusion.app/x", "it's", 'say "hi"', "$HOME", "a;b"]
    done = runner.run([PY, "-c", "import sys, json; print(json.dumps(sys.argv[1:]))", *weird], timeout=30)
    assert done.stdout.strip() == __import__("json").dumps(weird)


def test_a_hanging_program_is_stopped_at_its_timeout(runner: SshRunner) -> None:
    with pytest.raises(CommandTimeout):
        runner.run([PY, "-c", "import time; time.sleep(30)"], timeout=1)


def test_every_call_reuses_one_connection(runner: SshRunner, tmp_path: Path) -> None:
    for _ in range(3):
        runner.run(["true"], timeout=30)
    runner.write_bytes(str(tmp_path / "f"), b"x")
    runner.read_bytes(str(tmp_path / "f"))
    assert runner.connections_opened == 1


def test_file_operations_over_sftp(runner: SshRunner, tmp_path: Path) -> None:
    base = str(tmp_path / "store" / "vm-1")
    runner.mkdir(base)
    runner.mkdir(base)
    path = runner.path.join(base, "vm-1.vmx")
    runner.write_bytes(path, b'.encoding = "UTF-8"\n', mode=0o600)
    assert runner.read_bytes(path) == b'.encoding = "UTF-8"\n'
    assert (os.stat(path).st_mode & 0o777) == 0o600
    runner.copy_file(path, path + ".bak")
    runner.rename(path + ".bak", path + ".old")
    assert runner.list_dir(base) == ["vm-1.vmx", "vm-1.vmx.old"]
    assert runner.size(path) == 20 and runner.is_dir(base) and not runner.is_dir(path)
    runner.remove(path + ".old")
    runner.remove(path + ".old")
    runner.remove_tree(str(tmp_path / "store"))
    assert not runner.exists(str(tmp_path / "store"))
    with pytest.raises(HostFileNotFound):
        runner.read_bytes(path)


def test_a_failed_upload_leaves_no_partial_file(runner: SshRunner, tmp_path: Path) -> None:
    path = str(tmp_path / "image.vmdk")
    with pytest.raises(RuntimeError):
        with runner.open_write(path) as handle:
            handle.write(b"partial")
            raise RuntimeError("connection dropped")
    assert os.listdir(tmp_path) == []


def test_seekable_remote_writes(runner: SshRunner, tmp_path: Path) -> None:
    path = str(tmp_path / "disk.vmdk")
    with runner.open_write(path) as handle:
        handle.write(b"A" * 10)
        handle.seek(2)
        handle.write(b"BB")
    assert Path(path).read_bytes() == b"AABBAAAAAA"


def test_make_temp_dir_is_private(runner: SshRunner) -> None:
    folder = runner.make_temp_dir()
    try:
        assert (os.stat(folder).st_mode & 0o777) == 0o700
    finally:
        runner.remove_tree(folder)


def test_a_relative_path_is_made_absolute_from_the_login_directory(runner: SshRunner) -> None:
    home = runner.run(["pwd"], timeout=30).stdout.strip()
    assert runner.absolute("vms/db/db.vmx") == f"{home}/vms/db/db.vmx"
    assert runner.absolute("/abs/db.vmx") == "/abs/db.vmx"


def test_a_lock_lives_on_this_machine_and_forget_lock_removes_it(sshd: Sshd, tmp_path: Path) -> None:
    locks, host_path = tmp_path / "locks", str(tmp_path / "store" / ".locks" / "vm-1.lock")
    with SshRunner(SshTarget.from_mapping(sshd.ssh_tunnel()), lock_dir=str(locks)) as ssh:
        with ssh.lock(host_path, timeout=1):
            held = list(locks.iterdir())
            ssh.forget_lock(host_path)
        assert len(held) == 1 and list(locks.iterdir()) == []  # one local file per lock, then none
        assert not (tmp_path / "store").exists()  # nothing made on the host for a lock
        ssh.forget_lock(host_path)  # forgetting twice is fine


def test_locks_exclude_each_other(runner: SshRunner, sshd: Sshd, tmp_path: Path) -> None:
    other = SshRunner(SshTarget.from_mapping(sshd.ssh_tunnel()), lock_dir=None)
    with runner.lock(str(tmp_path / "vm.lock"), timeout=1):
        with pytest.raises(LockTimeout):
            with other.lock(str(tmp_path / "vm.lock"), timeout=0.2):
                pass


def test_a_command_string_is_refused_before_connecting() -> None:
    # Port 9 of a TEST-NET address: had it tried to connect, the error would be an SshError.
    target = SshTarget.from_mapping({"host": "192.0.2.1", "port": 9, "username": "u", "private_key": "k"})
    with pytest.raises(TypeError, match="argv must be a list of arguments"):
        SshRunner(target, connect_timeout=0.1).run("vmrun list", timeout=5)  # type: ignore[arg-type]


def test_an_unpinned_host_key_is_refused_with_the_key_to_pin(sshd: Sshd) -> None:
    target = SshTarget.from_mapping(sshd.ssh_tunnel(host_public_key=None))
    with pytest.raises(SshError) as caught, SshRunner(target) as ssh:
        ssh.run(["true"], timeout=10)
    assert sshd.host_public_key in str(caught.value) and "host_public_key" in str(caught.value)


def test_a_changed_host_key_is_refused(sshd: Sshd) -> None:
    wrong = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDl9ql7Hk8lvqF1ZtqUw3QmC5zjC5cZ0r8q0p3m2b1aa"
    target = SshTarget.from_mapping(sshd.ssh_tunnel(host_public_key=wrong))
    with pytest.raises(SshError, match="changed"), SshRunner(target) as ssh:
        ssh.run(["true"], timeout=10)


def test_opting_out_of_host_key_checks_is_explicit(sshd: Sshd) -> None:
    target = SshTarget.from_mapping(sshd.ssh_tunnel(host_public_key=None, insecure_skip_host_key_check=True))
    with SshRunner(target) as ssh:
        assert ssh.run(["true"], timeout=10).ok


KEY_TYPES = ("ed25519", "ecdsa", "rsa")


@pytest.fixture(scope="module")
def many_keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sshd, dict[str, str], dict[str, str]]]:
    """An sshd with RSA, ECDSA and Ed25519 host keys (like ``ssh-keyscan`` shows a Windows host);
    its pin of each type; and a pin of each type that is not its key."""
    server, pins = start_sshd_with_every_host_key_type(tmp_path_factory.mktemp("sshd-keys"))
    others = tmp_path_factory.mktemp("other-host-keys")
    wrong = {}
    for kind in KEY_TYPES:
        os.system(f"ssh-keygen -q -t {kind} -N '' -f {others / kind}")
        wrong[kind] = " ".join((others / f"{kind}.pub").read_text().split()[:2])
    yield server, pins, wrong
    stop_sshd(server)


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_a_pinned_host_key_of_any_type_is_accepted(
    many_keyed: tuple[Sshd, dict[str, str], dict[str, str]], kind: str
) -> None:
    server, pins, _ = many_keyed
    with SshRunner(SshTarget.from_mapping(server.ssh_tunnel(host_public_key=pins[kind]))) as ssh:
        assert ssh.run(["true"], timeout=10).ok


@pytest.mark.parametrize("kind", KEY_TYPES)
@pytest.mark.parametrize("skip_check", [False, True], ids=["checked", "insecure-skip-set"])
def test_a_wrong_pin_of_any_type_is_refused_even_when_skipping_checks_is_set(
    many_keyed: tuple[Sshd, dict[str, str], dict[str, str]], kind: str, skip_check: bool
) -> None:
    server, pins, wrong = many_keyed
    settings = server.ssh_tunnel(host_public_key=wrong[kind], insecure_skip_host_key_check=skip_check)
    with pytest.raises(SshError, match="changed") as caught, SshRunner(SshTarget.from_mapping(settings)) as ssh:
        ssh.run(["true"], timeout=10)
    assert pins[kind] in str(caught.value)  # the host proved the key of the pinned type


def test_a_pin_of_a_type_that_cannot_be_checked_is_refused_saying_so() -> None:
    target = SshTarget(
        "127.0.0.1", "u", "unused", host_public_key="ssh-dss AAAAB3NzaC1kc3MAAACBAP", port=_closed_port()
    )
    with pytest.raises(SshError, match="ssh-dss.*cannot be checked"), SshRunner(target) as ssh:
        ssh.run(["true"], timeout=5)


def test_every_host_key_algorithm_paramiko_negotiates_can_be_ruled_out() -> None:
    import paramiko

    from toolkit.host.ssh.runner import HOST_KEY_ALGORITHMS

    assert set(paramiko.Transport._preferred_keys) <= set(HOST_KEY_ALGORITHMS)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_authentication_failure_is_clear_and_leaks_no_key(sshd: Sshd, tmp_path: Path) -> None:
    other = tmp_path / "k"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other}")
    key = other.read_text()
    target = SshTarget.from_mapping(sshd.ssh_tunnel(private_key=key))
    with pytest.raises(SshError) as caught, SshRunner(target) as ssh:
        ssh.run(["true"], timeout=10)
    assert "refused the private key" in str(caught.value)
    assert key.splitlines()[1] not in str(caught.value)


def test_connection_refused_is_clear(sshd: Sshd) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    target = SshTarget.from_mapping(sshd.ssh_tunnel(port=closed_port))
    with pytest.raises(SshError, match="cannot connect"), SshRunner(target, connect_timeout=5) as ssh:
        ssh.run(["true"], timeout=10)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"host": "", "username": "u", "private_key": "k"}, "ssh_tunnel.host"),
        ({"host": "h", "username": "u", "private_key": "k", "port": "x"}, "ssh_tunnel.port"),
        ({"host": "h", "username": "u", "private_key": "k", "platform": "beos"}, "ssh_tunnel.platform"),
        ({"host": "h", "private_key": "k", "port": 70000}, "ssh_tunnel.username"),
    ],
)
def test_invalid_settings_list_every_problem(settings: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        SshTarget.from_mapping(settings)


def test_bad_private_key_text_is_not_echoed() -> None:
    target = SshTarget.from_mapping({"host": "h", "username": "u", "private_key": "SECRET-NOT-A-KEY"})
    with pytest.raises(SshError) as caught, SshRunner(target) as ssh:
        ssh.run(["true"], timeout=5)
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["C:\\Program Files (x86)\\VMware\\VMware Workstation\\vmrun.exe", "-T", "ws", "list"],
            '""C:\\Program Files (x86)\\VMware\\VMware Workstation\\vmrun.exe" -T ws list"',
        ),
        (["vmrun.exe", "start", "C:\\vms\\a b\\a b.vmx", "nogui"], '"vmrun.exe start "C:\\vms\\a b\\a b.vmx" nogui"'),
        (["x", 'a"b', "c&d"], '"x "a\\"b^" "c&d""'),
        (["vmrun", "-gp", 'pa"ss&x'], '"vmrun -gp "pa\\"ss^&x^""'),
        (["x", "trailing\\ slash\\"], '"x "trailing\\ slash\\\\""'),
    ],
)
def test_windows_command_lines_survive_cmd_exe(argv: list[str], expected: str) -> None:
    assert quote_argv(argv, HostPlatform.WINDOWS) == expected


def test_windows_refuses_percent_rather_than_expanding_it() -> None:
    with pytest.raises(SshError, match="%"):
        quote_argv(["vmrun", "-gp", "p%PATH%w"], HostPlatform.WINDOWS)


def test_windows_detached_start_goes_through_wmi_with_files_for_output_and_code() -> None:
    import base64

    from toolkit.host.exitcode import parse_exit_code
    from toolkit.host.ssh.windows import detached_command

    line = detached_command(["C:\\VMware\\vmrun.exe", "-T", "ws", "start", "C:\\vms\\a b\\a.vmx", "nogui"], "C:\\T\\x")
    assert line.startswith("powershell.exe -NoProfile -NonInteractive -EncodedCommand ")
    script = base64.b64decode(line.split()[-1]).decode("utf-16-le")
    assert "Win32_Process -MethodName Create" in script
    assert '"C:\\vms\\a b\\a.vmx" nogui > "C:\\T\\x\\out.txt" 2> "C:\\T\\x\\err.txt"' in script
    assert 'echo !errorlevel! > "C:\\T\\x\\code.txt"' in script
    assert parse_exit_code("255 \r\n") == 255 and parse_exit_code("") is None


def _polling_runner(monkeypatch: pytest.MonkeyPatch, answers: list[bytes | None]) -> tuple[SshRunner, list[str]]:
    """An SshRunner (never connected) whose host file reads answer from ``answers`` (None: no file yet)."""
    runner = SshRunner(SshTarget("127.0.0.1", "u", "unused", port=_closed_port()), clock=FakeClock())
    reads: list[str] = []

    def read_bytes(path: str) -> bytes:
        reads.append(path)
        answer = answers.pop(0) if answers else None
        if answer is None:
            raise HostFileNotFound(path)
        return answer

    monkeypatch.setattr(runner, "read_bytes", read_bytes)
    monkeypatch.setattr(runner, "exists", lambda path: pytest.fail("exists() costs a second SFTP round trip"))
    return runner, reads


def test_a_detached_programs_exit_code_is_read_once_per_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    runner, reads = _polling_runner(monkeypatch, [None, b"", b"3 \r\n"])
    assert runner._poll_exit_code("C:\\T\\code.txt", ("vmrun",), 10) == 3
    assert reads == ["C:\\T\\code.txt"] * 3


def test_a_detached_program_that_never_writes_its_exit_code_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    runner, reads = _polling_runner(monkeypatch, [])
    with pytest.raises(CommandTimeout, match="'vmrun' did not finish within 2 s"):
        runner._poll_exit_code("C:\\T\\code.txt", ("vmrun",), 2)
    assert len(reads) == 5  # every 0.5 s, the last at the deadline


def test_windows_detached_refuses_bang() -> None:
    from toolkit.host.ssh.windows import detached_command

    with pytest.raises(SshError, match="!"):
        detached_command(["vmrun", "-gp", "pa!ss"], "C:\\T")


# --- an emulation of how Windows reads a command line: cmd.exe /c, then the C runtime ---

CMD_SEPARATORS = "&|<>"  # an unescaped one outside quotes ends the command or redirects it
CMD_EXPOSED = "()!"  # blocks and delayed expansion: never left unescaped outside quotes


@dataclass(frozen=True)
class CmdPiece:
    """What cmd.exe makes of the text up to a separator: the text it hands on, and what it saw bare."""

    text: str
    exposed: str


def cmd_c(line: str) -> str:
    """``cmd /c LINE`` on a line starting with a quote: the first and the last quote are stripped."""
    assert line.startswith('"')
    last = line.rindex('"')
    return line[1:last] + line[last + 1 :]


def cmd_phase(line: str) -> list[CmdPiece]:
    """cmd.exe's special-character phase: every '"' toggles quoting (and stays); outside quotes
    '^' removes itself and makes the next character literal, and & | < > separate commands."""
    pieces, text, exposed, inside, position = [], [], [], False, 0
    while position < len(line):
        char = line[position]
        position += 1
        if char == '"':
            inside = not inside
        elif not inside and char == "^":
            assert position < len(line), "a trailing caret continues the line"
            char = line[position]
            position += 1
        elif not inside and char in CMD_SEPARATORS:
            pieces.append(CmdPiece("".join(text), "".join(exposed)))
            text, exposed = [], []
            continue
        elif not inside and char in CMD_EXPOSED:
            exposed.append(char)
        text.append(char)
    return [*pieces, CmdPiece("".join(text), "".join(exposed))]


def crt_argv(line: str) -> list[str]:
    """The MS C runtime's (and CommandLineToArgvW's) argv: the program name up to a space or
    between quotes, then 2n backslashes + '"' give n backslashes and toggle quoting, 2n+1
    backslashes + '"' give n backslashes and a literal '"', other backslashes are literal."""
    line = line.lstrip(" \t")
    if line.startswith('"'):
        end = line.find('"', 1)
        end = len(line) if end < 0 else end
        argv, position = [line[1:end]], end + 1
    else:
        end = min((i for i in (line.find(" "), line.find("\t")) if i >= 0), default=len(line))
        argv, position = [line[:end]], end
    while True:
        while position < len(line) and line[position] in " \t":
            position += 1
        if position >= len(line):
            return argv
        arg, position = _crt_arg(line, position)
        argv.append(arg)


def _crt_arg(line: str, position: int) -> tuple[str, int]:
    out, inside = [], False
    while position < len(line) and (inside or line[position] not in " \t"):
        char = line[position]
        if char == "\\":
            slashes = len(line[position:]) - len(line[position:].lstrip("\\"))
            position += slashes
            if position < len(line) and line[position] == '"':
                out.append("\\" * (slashes // 2) + ('"' if slashes % 2 else ""))
                position += slashes % 2
            else:
                out.append("\\" * slashes)
        elif char == '"':
            if inside and line[position + 1 : position + 2] == '"':  # "" inside quotes: a literal quote
                out.append('"')
                position += 1
            else:
                inside = not inside
            position += 1
        else:
            out.append(char)
            position += 1
    return "".join(out), position


def test_the_emulation_reads_known_lines_as_windows_does() -> None:
    assert crt_argv('"C:\\a b\\x.exe" a\\\\"b c" d\\\\\\"e "" \\\\') == [
        "C:\\a b\\x.exe",
        "a\\b c",
        'd\\"e',
        "",
        "\\\\",
    ]
    assert cmd_phase('a "b&" c^&d & e') == [CmdPiece('a "b&" c&d ', ""), CmdPiece(" e", "")]
    # The line that used to be sent for -gp 'pa"ss&x': cmd cut it at the '&'.
    assert [p.text for p in cmd_phase(cmd_c('"vmrun -gp "pa\\"ss&x""'))] == ['vmrun -gp "pa\\"ss', 'x"']


PROGRAMS = st.text(st.sampled_from("abcXYZ019 ._-:\\()"), min_size=1).filter(
    lambda p: p.strip(" ") == p and not p.endswith("\\")
)
ARGUMENTS = st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="%")))


@given(PROGRAMS, ARGUMENTS)
@example("vmrun", ["-gp", 'pa"ss&x'])
@example("vmrun", ['"', '""&', '\\"^', "a b\\", "(x)!|<>"])
def test_windows_command_lines_reach_the_program_intact(program: str, args: list[str]) -> None:
    argv = [program, *args]
    pieces = cmd_phase(cmd_c(quote_argv(argv, HostPlatform.WINDOWS)))
    assert [p.exposed for p in pieces] == [""], "cmd.exe would split, redirect or expand this line"
    assert crt_argv(pieces[0].text) == argv


@given(PROGRAMS, ARGUMENTS.map(lambda args: [a.replace("!", "") for a in args]))
@example("vmrun", ["-vp", 'pa"ss&x', "nogui"])
def test_windows_detached_command_lines_reach_the_program_intact(program: str, args: list[str]) -> None:
    import base64
    import re

    from toolkit.host.ssh.windows import detached_command

    script = base64.b64decode(detached_command([program, *args], "C:\\T").split()[-1]).decode("utf-16-le")
    line = re.search(r"CommandLine='cmd.exe /d /v:on /c (.*)'; CurrentDirectory", script, re.DOTALL)
    assert line is not None
    pieces = cmd_phase(cmd_c(line[1].replace("''", "'")))
    # The program, then > out, 2> err, & echo, > code: nothing of the arguments splits the line.
    assert len(pieces) == 5 and pieces[0].exposed == "" and pieces[3].text.strip() == "echo !errorlevel!"
    assert crt_argv(pieces[0].text) == [program, *args]
