"""Guest operations on one VM: files, programs with their output, processes, waits.

``Guest`` builds on ``Vmrun``'s guest verbs. vmrun returns neither a guest
program's output nor (reliably) its exit code, so ``run`` starts the program
through a wrapper from ``guest_scripts/`` that writes stdout, stderr and the
exit code to files in a per-call guest temp directory, and copies them back
through a host temp directory. Both temp directories are removed afterwards,
even on failure. This module must not build vmrun argv or read vmrun's text
(``vmrun.py`` does), touch host files except through the Runner, or sleep
except through the Clock.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from toolkit.errors import (
    GuestCommandError,
    GuestFileNotFoundError,
    GuestProgramNotFoundError,
    ToolkitError,
    VmrunError,
)
from toolkit.host.clock import Clock, wait_until
from toolkit.host.exitcode import parse_exit_code
from toolkit.vmware.guest_wrapper import (
    EXIT_FILE,
    FLAVOURS,
    PID_FILE,
    STREAMS,
    OutputCallback,
    Poller,
    exit_code,
    program_missing,
    script_bytes,
    script_file,
    wrapper_argv,
)
from toolkit.vmware.guest_wrapper import POWERSHELL as POWERSHELL
from toolkit.vmware.guest_wrapper import GuestOs as GuestOs
from toolkit.vmware.guest_wrapper import script_path as script_path
from toolkit.vmware.vmrun import GuestCredentials, GuestProcess, ToolsState, Vmrun

__all__ = ["Guest", "GuestResult", "wait_for_tools"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GuestResult:
    command: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration: float
    program_missing: bool = False  # the program does not exist in the guest (exit code 127)

    def check(self) -> GuestResult:
        """This result, or ``GuestCommandError`` unless the program exited 0."""
        if self.exit_code != 0:
            raise GuestCommandError(self.command, self.exit_code, self.stdout, self.stderr)
        return self


class Guest:
    """The guest of one running VM, reached with one set of credentials."""

    def __init__(
        self,
        vmrun: Vmrun,
        vmx: str,
        credentials: GuestCredentials,
        *,
        clock: Clock,
        os: GuestOs = GuestOs.LINUX,
    ) -> None:
        self._vmrun = vmrun
        self._vmx = vmx
        self._creds = credentials
        self._clock = clock
        self._os = os
        self._flavour = FLAVOURS[os]

    @property
    def vmrun(self) -> Vmrun:
        return self._vmrun

    def join(self, *parts: str) -> str:
        """Join guest path parts the guest's way."""
        return str(self._flavour.path.join(*parts))

    # --- files ---------------------------------------------------------------------------

    def copy_to(self, host_path: str, guest_path: str) -> None:
        self._vmrun.copy_to_guest(self._vmx, self._creds, host_path, guest_path)

    def copy_from(self, guest_path: str, host_path: str) -> None:
        self._vmrun.copy_from_guest(self._vmx, self._creds, guest_path, host_path)

    def put_bytes(self, data: bytes, guest_path: str) -> None:
        with self._host_dir() as host:
            staged = self._vmrun.runner.path.join(host, "data")
            self._vmrun.runner.write_bytes(staged, data)
            self.copy_to(staged, guest_path)

    def get_bytes(self, guest_path: str) -> bytes:
        with self._host_dir() as host:
            staged = self._vmrun.runner.path.join(host, "data")
            self.copy_from(guest_path, staged)
            return self._vmrun.runner.read_bytes(staged)

    def exists(self, path: str) -> bool:
        return self._vmrun.file_exists(self._vmx, self._creds, path) or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        return self._vmrun.dir_exists(self._vmx, self._creds, path)

    def mkdir(self, path: str) -> None:
        """Create ``path`` and missing parents; an existing directory is fine."""
        if self.is_dir(path):
            return
        parent = self._flavour.path.dirname(path)
        if parent and parent != path:
            self.mkdir(parent)
        self._vmrun.mkdir(self._vmx, self._creds, path)

    def remove(self, path: str) -> None:
        self._vmrun.delete_file(self._vmx, self._creds, path)

    def remove_dir(self, path: str) -> None:
        self._vmrun.delete_dir(self._vmx, self._creds, path)

    # --- processes ---------------------------------------------------------------------------

    def processes(self) -> list[GuestProcess]:
        return self._vmrun.processes(self._vmx, self._creds)

    def kill(self, pid: int) -> None:
        self._vmrun.kill_process(self._vmx, self._creds, pid)

    # --- programs ------------------------------------------------------------------------------

    def run(
        self, program: str, *args: str, timeout: float = 600.0, on_output: OutputCallback | None = None
    ) -> GuestResult:
        """Run ``program`` (absolute guest path) to completion; its exit code and output."""
        with self._workspace() as space:
            return self._captured(space, (program, *args), timeout, on_output)

    def run_script(
        self,
        text: str,
        *,
        interpreter: str | None = None,
        timeout: float = 600.0,
        on_output: OutputCallback | None = None,
    ) -> GuestResult:
        """Copy ``text`` into the guest and run it (default: ``/bin/sh``, or PowerShell on Windows)."""
        launcher, name, data = script_file(self._os, text, interpreter)
        with self._workspace() as space:
            script = space.put(name, data)
            return self._captured(space, (*launcher, script), timeout, on_output)

    def _captured(
        self, space: _Workspace, command: tuple[str, ...], timeout: float, on_output: OutputCallback | None
    ) -> GuestResult:
        space.put(self._flavour.wrapper, script_bytes(self._flavour.wrapper))
        argv = wrapper_argv(self._os, space.guest, command)
        launcher, launch_args = argv[0], argv[1:]
        started = self._clock.monotonic()
        try:
            if on_output is None:
                reported = self._vmrun.run_in_guest(self._vmx, self._creds, launcher, launch_args, timeout=timeout)
            else:
                self._vmrun.run_in_guest(self._vmx, self._creds, launcher, launch_args, wait=False)
                reported = Poller(space, on_output, self._clock).until_done(started + timeout, command, timeout)
        except BaseException:
            # Timed out, interrupted or lost track of it: the program must not run on unobserved.
            self._stop_program(space)
            raise
        recorded = space.fetch(EXIT_FILE)
        code = exit_code(recorded, reported)
        output = [(space.fetch(stream) or b"").decode("utf-8", errors="replace") for stream in STREAMS]
        if program_missing(recorded):  # a result as a shell's 127, said in our words, not the wrapper's
            missing = GuestProgramNotFoundError(command[0])
            return GuestResult(command, code, output[0], f"{missing}\n", self._clock.monotonic() - started, True)
        return GuestResult(command, code, output[0], output[1], self._clock.monotonic() - started)

    def _stop_program(self, space: _Workspace) -> None:
        """Best effort: kill the program (its pid, as the wrapper recorded it), then the wrapper.

        vmrun only gave up waiting: both may still run in the guest. Killing the
        wrapper alone may leave its child running, as the guest OS decides.
        """
        try:
            pid = parse_exit_code((space.fetch(PID_FILE) or b"").decode("ascii", errors="replace"))
            targets = [p.pid for p in self.processes() if p.pid == pid or space.guest in p.command]
        except ToolkitError as exc:
            log.warning("could not stop the guest program: %s", exc)
            return
        for target in sorted(targets, key=lambda found: found != pid):  # the program first
            with contextlib.suppress(ToolkitError):  # it may have ended meanwhile
                self.kill(target)

    # --- waiting ----------------------------------------------------------------------------------

    def wait_for_tools(self, *, timeout: float, interval: float = 1.0) -> None:
        """Poll ``checkToolsState`` until it says ``running``; ``WaitTimeout`` otherwise."""
        wait_for_tools(self._vmrun, self._vmx, timeout=timeout, clock=self._clock, interval=interval)

    def wait_for_process(
        self, name: str, *, max_wait: float, min_wait: float = 0.0, interval: float = 1.0
    ) -> GuestProcess:
        """Wait ``min_wait``, then poll the process list for a program named ``name``.

        Tolerates transient failures (Tools not up yet) and unclassified guest-op
        failures, which happen right after Tools report running; never bad credentials.
        """
        return self._poll_processes(
            lambda procs: next((p for p in procs if self._named(p, name)), None),
            what=f"process {name!r} in {self._vmx}", max_wait=max_wait, min_wait=min_wait, interval=interval,
        )  # fmt: skip

    def wait_for_guest_operations(self, *, max_wait: float, min_wait: float = 0.0, interval: float = 1.0) -> None:
        """Wait until VMware Tools answer a guest operation (a process listing) with these credentials."""
        self._poll_processes(
            lambda procs: True, what=f"VMware Tools in {self._vmx}", max_wait=max_wait, min_wait=min_wait,
            interval=interval,
        )  # fmt: skip

    def _poll_processes(
        self, found: Callable[[list[GuestProcess]], T | None], *, what: str, max_wait: float, min_wait: float,
        interval: float,
    ) -> T:  # fmt: skip
        def probe() -> T | None:
            try:
                procs = self.processes()
            except VmrunError as exc:
                if type(exc) is not VmrunError:
                    raise
                log.debug("guest not ready (%s) yet: %s", what, exc.message)
                return None
            return found(procs)

        return wait_until(probe, what=what, timeout=max_wait, clock=self._clock, interval=interval, min_wait=min_wait)

    def _named(self, process: GuestProcess, name: str) -> bool:
        if self._os is GuestOs.WINDOWS:
            return process.name.lower() in (name.lower(), name.lower() + ".exe")
        return process.name == name

    # --- temp directories -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _host_dir(self) -> Iterator[str]:
        runner = self._vmrun.runner
        path = runner.make_temp_dir(prefix="vmtk-guest-")
        try:
            yield path
        finally:
            runner.remove_tree(path)

    @contextlib.contextmanager
    def _workspace(self) -> Iterator[_Workspace]:
        guest = self._flavour.path.join(self._flavour.temp_root, f"vmtk-{secrets.token_hex(6)}")
        with self._host_dir() as host:
            self._vmrun.mkdir(self._vmx, self._creds, guest)
            try:
                yield _Workspace(self, host, guest)
            finally:
                self._discard(guest)

    def _discard(self, guest_dir: str) -> None:
        # Best effort: the original error (if any) matters more than a failed cleanup.
        try:
            self.remove_dir(guest_dir)
        except ToolkitError as exc:
            log.warning("could not remove guest temp dir %s: %s", guest_dir, exc)


def wait_for_tools(vmrun: Vmrun, vmx: str, *, timeout: float, clock: Clock, interval: float = 1.0) -> None:
    """Poll ``checkToolsState`` until it says ``running`` (no guest login needed); ``WaitTimeout`` otherwise."""

    def probe() -> bool:
        return vmrun.tools_state(vmx) is ToolsState.RUNNING

    wait_until(probe, what=f"VMware Tools in {vmx}", timeout=timeout, clock=clock, interval=interval)


class _Workspace:
    """A guest temp dir and its host-side staging dir for one ``run``."""

    def __init__(self, guest: Guest, host_dir: str, guest_dir: str) -> None:
        self._guest = guest
        self._runner = guest.vmrun.runner
        self.host = host_dir
        self.guest = guest_dir

    def put(self, name: str, data: bytes) -> str:
        """Write ``name`` into the guest dir; its guest path."""
        staged = self._runner.path.join(self.host, name)
        self._runner.write_bytes(staged, data)
        target = self._guest.join(self.guest, name)
        self._guest.copy_to(staged, target)
        return target

    def fetch(self, name: str) -> bytes | None:
        """The guest file ``name``'s bytes; ``None`` if it does not exist (yet)."""
        staged = self._runner.path.join(self.host, name)
        try:
            self._guest.copy_from(self._guest.join(self.guest, name), staged)
        except GuestFileNotFoundError:
            return None
        return self._runner.read_bytes(staged)
