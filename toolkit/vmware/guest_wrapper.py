"""The guest side of capturing a program's output: wrapper scripts and polling.

vmrun returns neither a guest program's output nor (reliably) its exit code, so
programs run through a wrapper from ``guest_scripts/`` that writes stdout,
stderr and the exit code into files. This module knows those scripts, how each
guest OS launches them, how to stream the files while a program runs, and how
to read the exit code a wrapper writes (the SSH runner reads the one its
detached Windows programs write the same way). It must not call vmrun itself
(``Guest`` does, through its workspace).
"""

from __future__ import annotations

import codecs
import enum
import importlib.resources
import logging
import ntpath
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from toolkit.errors import CommandTimeout, WaitTimeout
from toolkit.host.clock import Clock, wait_until
from toolkit.host.exitcode import parse_exit_code

__all__ = [
    "EXIT_FILE",
    "FLAVOURS",
    "Flavour",
    "GuestOs",
    "LINUX_SHELL",
    "NOT_FOUND",
    "PID_FILE",
    "POLL_SECONDS",
    "POWERSHELL",
    "POWERSHELL_FLAGS",
    "Poller",
    "STREAMS",
    "Staged",
    "UTF8_BOM",
    "exit_code",
    "program_missing",
    "script_bytes",
    "script_file",
    "script_path",
    "wrapper_argv",
]

log = logging.getLogger(__name__)

OutputCallback = Callable[[str, str], None]  # (stream: "stdout" | "stderr", new text)
STREAMS = ("stdout", "stderr")
EXIT_FILE = "exit-code"
PID_FILE = "pid"
NOT_FOUND = "not-found"  # the exit file's second line when the program does not exist in the guest
POLL_SECONDS = 0.5
LINUX_SHELL = "/bin/sh"
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
POWERSHELL_FLAGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File")
UTF8_BOM = b"\xef\xbb\xbf"  # Windows PowerShell 5 reads a BOM-less .ps1 in the ANSI code page


class GuestOs(str, enum.Enum):
    LINUX = "linux"
    WINDOWS = "windows"


@dataclass(frozen=True, slots=True)
class Flavour:
    """What differs between guest operating systems."""

    path: ModuleType
    temp_root: str
    wrapper: str
    launcher: tuple[str, ...]  # runs the wrapper: interpreter and its flags


FLAVOURS = {
    GuestOs.LINUX: Flavour(posixpath, "/tmp", "run-captured.sh", (LINUX_SHELL,)),
    GuestOs.WINDOWS: Flavour(ntpath, r"C:\Windows\Temp", "run-captured.ps1", (POWERSHELL, *POWERSHELL_FLAGS)),
}


def script_path(name: str) -> str:
    """The one way to locate ``guest_scripts/<name>`` (on this machine, not the VMware host)."""
    return str(importlib.resources.files("toolkit.guest_scripts").joinpath(name))


def script_bytes(name: str) -> bytes:
    return importlib.resources.files("toolkit.guest_scripts").joinpath(name).read_bytes()


def wrapper_argv(os: GuestOs, guest_dir: str, command: Sequence[str]) -> list[str]:
    """The guest command line running ``command`` through the capturing wrapper in ``guest_dir``."""
    flavour = FLAVOURS[os]
    return [*flavour.launcher, flavour.path.join(guest_dir, flavour.wrapper), guest_dir, *command]


def script_file(os: GuestOs, text: str, interpreter: str | None) -> tuple[tuple[str, ...], str, bytes]:
    """How to run a script: (interpreter and flags, file name, file bytes)."""
    data = text.encode("utf-8")
    if interpreter is not None:
        return (interpreter,), "script", data
    if os is GuestOs.WINDOWS:
        return (POWERSHELL, *POWERSHELL_FLAGS), "script.ps1", UTF8_BOM + data
    return (LINUX_SHELL,), "script.sh", data


class Staged(Protocol):
    def fetch(self, name: str) -> bytes | None: ...


class Poller:
    """Streams a ``-noWait`` program's output files until its exit-code file appears."""

    def __init__(self, space: Staged, on_output: OutputCallback, clock: Clock) -> None:
        self._space = space
        self._on_output = on_output
        self._clock = clock
        self._seen = dict.fromkeys(STREAMS, 0)
        self._decoders = {s: codecs.getincrementaldecoder("utf-8")(errors="replace") for s in STREAMS}

    def until_done(self, deadline: float, command: tuple[str, ...], timeout: float) -> int | None:
        def finished() -> bool:
            # Exit file first: once it exists, the output files are complete.
            done = self._space.fetch(EXIT_FILE) is not None
            self._emit()
            return done

        remaining = max(0.0, deadline - self._clock.monotonic())
        try:
            wait_until(
                finished,
                what=f"{command[0]!r} to finish",
                timeout=remaining,
                clock=self._clock,
                interval=POLL_SECONDS,
                through_transient=False,  # a transient vmrun error is the caller's to judge
            )
        except WaitTimeout:
            raise CommandTimeout(command, timeout) from None
        return None

    def _emit(self) -> None:
        for stream in STREAMS:
            data = self._space.fetch(stream) or b""
            text = self._decoders[stream].decode(data[self._seen[stream] :])
            self._seen[stream] = max(self._seen[stream], len(data))
            if text:
                self._on_output(stream, text)


def program_missing(recorded: bytes | None) -> bool:
    """Whether the wrapper found no program to run (its exit file says so on a line of its own)."""
    text = b"" if recorded is None else recorded
    return NOT_FOUND in text.decode("utf-8", errors="replace").split()[1:]


def exit_code(recorded: bytes | None, reported: int | None) -> int:
    """The wrapper's recorded code; vmrun's report only when the wrapper wrote none."""
    code = None if recorded is None else parse_exit_code(recorded.decode("utf-8", errors="replace"))
    if code is not None:
        return code
    log.warning("guest wrapper left no exit code; using vmrun's report %s", reported)
    return reported if reported is not None else -1
