"""Command lines and exec channels for the SSH runner.

Renders an argv list into the one command string an SSH server runs (POSIX
``sh`` quoting, or Windows cmd.exe + C-runtime quoting for Win32-OpenSSH) and
collects a command's exit code and output over a paramiko channel, enforcing the
timeout. Must not open connections or interpret output.

A Windows line is read twice: first by cmd.exe, which toggles its quote state on
every ``"`` (also on the ``\\"`` the C runtime reads as a literal quote) and treats
``& | < > ( ) ^ !`` as operators outside its quotes, then by the program's C
runtime, which rebuilds argv. Each argument is quoted for the C runtime, then every
metacharacter that falls outside cmd's quotes is escaped with ``^`` (which cmd
removes), and an argument's closing quote is escaped too when cmd is outside its
quotes there, so cmd is outside its quotes between arguments. ``%`` cannot be
escaped inside cmd's quotes, so arguments holding it are refused.
"""

from __future__ import annotations

import re
import select
import shlex
from collections.abc import Sequence

import paramiko

from toolkit.errors import CommandTimeout, SshConnectionLost, SshError
from toolkit.host.clock import Clock
from toolkit.host.runner import OutputSink, decode
from toolkit.host.ssh.target import HostPlatform

__all__ = ["cmd_arguments", "exec_channel", "quote_argv", "quote_windows_arg", "refuse_unpassable"]

# cmd.exe treats these specially outside double quotes; quoting the argument neutralises them.
_CMD_SPECIAL = re.compile(r'[\s&|<>^()",;=!]')
# What cmd.exe reads as an operator outside its quotes, unless escaped with '^'.
_CMD_METACHARACTERS = frozenset("()<>&|^!")
_POLL_SECONDS = 0.1


def quote_argv(argv: Sequence[str], platform: HostPlatform) -> str:
    """The command string for ``argv`` on a host of ``platform``."""
    if platform is not HostPlatform.WINDOWS:
        return shlex.join(argv)
    # cmd /c strips the first and last quote of a line that starts with one, so wrap the whole line.
    return '"' + cmd_arguments(argv) + '"'


def cmd_arguments(argv: Sequence[str]) -> str:
    """``argv`` as one cmd.exe command: C-runtime quoted, cmd metacharacters escaped.

    cmd is outside its quotes at the end, so redirections or ``&`` may follow.
    """
    refuse_unpassable(argv)
    return " ".join(_cmd_escape(quote_windows_arg(arg)) for arg in argv)


def refuse_unpassable(argv: Sequence[str]) -> None:
    """``SshError`` for an argument that cmd.exe would change whatever the quoting."""
    for position, arg in enumerate(argv):
        if "%" in arg or "\n" in arg or "\r" in arg:
            # cmd.exe expands %VAR% even inside quotes and has no escape that works there;
            # refusing is better than running something else than asked. The argument
            # itself is not shown: it may be a password.
            raise SshError(
                f"argument {position} of {argv[0]!r} contains '%' or a line break, which cannot be "
                "passed to a Windows host over SSH"
            )


def quote_windows_arg(arg: str) -> str:
    """Quote one argument by the MS C runtime rules, always quoting cmd.exe metacharacters."""
    if arg and not _CMD_SPECIAL.search(arg):
        return arg
    out, slashes = ['"'], 0
    for char in arg:
        if char == "\\":
            slashes += 1
            continue
        if char == '"':
            out.append("\\" * (2 * slashes + 1) + '"')
        else:
            out.append("\\" * slashes + char)
        slashes = 0
    out.append("\\" * (2 * slashes) + '"')
    return "".join(out)


def _cmd_escape(quoted: str) -> str:
    """Caret-escape what cmd.exe would see outside its quotes in one C-runtime quoted argument.

    cmd starts the argument outside its quotes and toggles on every '"'. A literal quote
    (``\\"``) flips cmd's state without ending the C runtime's quoted text, so the text after
    it is exposed to cmd: its metacharacters get a '^'. If cmd is outside at the closing
    quote, that quote is escaped (``^"``: the C runtime still sees it, cmd does not toggle),
    so the next argument starts outside cmd's quotes again.
    """
    out, inside = [], False
    for position, char in enumerate(quoted):
        last = position == len(quoted) - 1
        if not inside and (char in _CMD_METACHARACTERS or (char == '"' and last)):
            out.append("^")
        elif char == '"':
            inside = not inside
        out.append(char)
    return "".join(out)


def exec_channel(
    transport: paramiko.Transport,
    command: str,
    shown: Sequence[str],
    stdin: bytes | None,
    timeout: float,
    on_output: OutputSink | None,
    clock: Clock,
) -> tuple[int, str, str]:
    """Run ``command`` on a new channel; (exit code, stdout, stderr)."""
    channel = transport.open_session(timeout=30)
    try:
        channel.exec_command(command)
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        out, err = _collect(channel, shown, timeout, on_output, clock)
        return channel.recv_exit_status(), decode(out), decode(err)
    finally:
        channel.close()


def _collect(
    channel: paramiko.Channel,
    shown: Sequence[str],
    timeout: float,
    on_output: OutputSink | None,
    clock: Clock,
) -> tuple[bytes, bytes]:
    deadline = clock.monotonic() + timeout
    out, err = bytearray(), bytearray()
    while not (channel.exit_status_ready() and channel.eof_received and not _pending(channel)):
        if clock.monotonic() > deadline:
            raise CommandTimeout(shown, timeout, decode(bytes(out)))
        if channel.closed and not channel.eof_received:
            # paramiko closes every channel when the connection dies, without an EOF or an
            # exit status: waiting on would only run into the timeout.
            raise SshConnectionLost(f"the connection dropped while {shown[0]!r} ran; its outcome is unknown")
        select.select([channel], [], [], _POLL_SECONDS)  # an I/O wait, bounded by the deadline above
        _drain(channel, out, err, on_output)
    _drain(channel, out, err, on_output)
    return bytes(out), bytes(err)


def _pending(channel: paramiko.Channel) -> bool:
    return bool(channel.recv_ready() or channel.recv_stderr_ready())


def _drain(channel: paramiko.Channel, out: bytearray, err: bytearray, on_output: OutputSink | None) -> None:
    while channel.recv_ready():
        chunk = channel.recv(65536)
        out += chunk
        if on_output is not None and chunk:
            on_output(decode(chunk))
    while channel.recv_stderr_ready():
        err += channel.recv_stderr(65536)
