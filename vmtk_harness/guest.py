"""The guest a test drives: ``toolkit.vmware.guest.Guest`` plus a transcript of everything done.

Every operation a test performs through ``RecordedGuest`` (commands with their
exit code and output, copies, process queries, waits) is appended to a
``Transcript`` so a failing test can show exactly what happened in the guest.
It must not talk to vmrun itself (that is ``Guest``'s job) and must not know
about pytest: the plugin decides when a transcript is shown.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from toolkit.errors import ToolkitError
from toolkit.host.clock import Clock
from toolkit.vmware.guest import Guest, GuestResult
from toolkit.vmware.vmrun import GuestCredentials, GuestProcess, Vmrun

log = logging.getLogger(__name__)
T = TypeVar("T")
TAIL_LINES = 40
SHELL = "/bin/sh"


@dataclass(frozen=True, slots=True)
class GuestRecord:
    """One guest operation: what was asked, how it ended, how long it took."""

    action: str
    subject: str
    duration: float
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str = ""

    def render(self, tail: int = TAIL_LINES) -> str:
        head = f"$ {self.subject}" if self.action == "run" else f"{self.action}: {self.subject}"
        lines = [head, "  " + self._outcome()]
        for label, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            lines.extend(_tail_block(label, text, tail))
        lines.extend("  ! " + line for line in self.error.splitlines())
        return "\n".join(lines)

    def _outcome(self) -> str:
        if self.error:
            return f"failed after {self.duration:.2f} s"
        if self.exit_code is not None:
            return f"exit code {self.exit_code} after {self.duration:.2f} s"
        return f"done in {self.duration:.2f} s"


def _tail_block(label: str, text: str, tail: int) -> list[str]:
    lines = text.rstrip("\n").splitlines()
    if not lines:
        return []
    shown = lines[-tail:]
    cut = f", last {len(shown)} of {len(lines)} lines" if len(shown) < len(lines) else ""
    return [f"  {label}{cut}:"] + ["  | " + line for line in shown]


@dataclass(slots=True)
class Transcript:
    """The operations done in one VM, in order (mutable: it grows while the test runs)."""

    vm_name: str
    vmx: str
    records: list[GuestRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, record: GuestRecord) -> None:
        self.records.append(record)

    def render(self, tail: int = TAIL_LINES) -> str:
        lines = [f"VM {self.vm_name} ({self.vmx})"]
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.extend(record.render(tail) for record in self.records)
        if not self.records:
            lines.append("  (no guest operations)")
        return "\n".join(lines)


class RecordedGuest:
    """``Guest`` operations for tests, each one recorded in ``transcript``."""

    def __init__(
        self, vmrun: Vmrun, vmx: str, credentials: GuestCredentials, transcript: Transcript, *, clock: Clock
    ) -> None:
        self.raw = Guest(vmrun, vmx, credentials, clock=clock)
        self.transcript = transcript
        self._vmrun = vmrun
        self._vmx = vmx
        self._credentials = credentials
        self._clock = clock

    def run(self, program: str, *args: str, timeout: float = 600.0) -> GuestResult:
        """Run ``program`` (an absolute guest path) with its output and exit code captured."""
        subject = shlex.join((program, *args))
        return self.record("run", subject, lambda: self.raw.run(program, *args, timeout=timeout))

    def start(self, program: str, *args: str) -> None:
        """Start ``program`` in the background (a service) and return at once; no output is kept."""
        self.record(
            "start",
            shlex.join((program, *args)),
            lambda: self._vmrun.run_in_guest(self._vmx, self._credentials, program, list(args), wait=False),
        )

    def sh(self, command: str, *, timeout: float = 600.0) -> GuestResult:
        """Run ``command`` with the guest's ``/bin/sh -c``."""
        return self.run(SHELL, "-c", command, timeout=timeout)

    def run_script(self, text: str, *, interpreter: str | None = None, timeout: float = 600.0) -> GuestResult:
        shown = f"script for {interpreter or 'the default interpreter'}:\n" + text.rstrip("\n")
        return self.record("run", shown, lambda: self.raw.run_script(text, interpreter=interpreter, timeout=timeout))

    def put(self, source: bytes | str | os.PathLike[str], guest_path: str) -> None:
        """Copy bytes, or the host file ``source``, to ``guest_path``."""
        if isinstance(source, bytes):
            subject = f"{len(source)} bytes -> {guest_path}"
            self.record("put", subject, lambda: self.raw.put_bytes(source, guest_path))
            return
        host = os.fspath(source)
        self.record("put", f"{host} -> {guest_path}", lambda: self.raw.copy_to(host, guest_path))

    def get(self, guest_path: str) -> bytes:
        """The contents of the guest file ``guest_path``."""
        return self.record("get", guest_path, lambda: self.raw.get_bytes(guest_path))

    def get_file(self, guest_path: str, host_path: str | os.PathLike[str]) -> Path:
        """Copy ``guest_path`` to the host file ``host_path``; returns it as a ``Path``."""
        host = os.fspath(host_path)
        self.record("get", f"{guest_path} -> {host}", lambda: self.raw.copy_from(guest_path, host))
        return Path(host)

    def processes(self) -> list[GuestProcess]:
        return self.record("processes", "list", self.raw.processes)

    def wait_for_process(
        self, name: str, *, timeout: float = 300.0, min_wait: float = 0.0, interval: float = 1.0
    ) -> GuestProcess:
        """The first guest process called ``name``, waiting up to ``timeout`` seconds for it."""
        return self.record(
            "wait_for_process",
            name,
            lambda: self.raw.wait_for_process(name, max_wait=timeout, min_wait=min_wait, interval=interval),
        )

    def kill(self, pid: int) -> None:
        self.record("kill", str(pid), lambda: self.raw.kill(pid))

    def exists(self, guest_path: str) -> bool:
        return self.record("exists", guest_path, lambda: self.raw.exists(guest_path))

    def mkdir(self, guest_path: str) -> None:
        self.record("mkdir", guest_path, lambda: self.raw.mkdir(guest_path))

    def remove(self, guest_path: str) -> None:
        self.record("remove", guest_path, lambda: self.raw.remove(guest_path))

    def record(self, action: str, subject: str, operation: Callable[[], T]) -> T:
        """Run ``operation`` and append what happened to the transcript (errors too)."""
        started = self._clock.monotonic()
        try:
            value = operation()
        except ToolkitError as exc:
            self.transcript.add(GuestRecord(action, subject, self._since(started), error=str(exc)))
            raise
        self.transcript.add(_record_of(action, subject, self._since(started), value))
        return value

    def _since(self, started: float) -> float:
        return self._clock.monotonic() - started


def _record_of(action: str, subject: str, duration: float, value: object) -> GuestRecord:
    if isinstance(value, GuestResult):
        return GuestRecord(action, subject, value.duration, value.exit_code, value.stdout, value.stderr)
    return GuestRecord(action, subject, duration)
