"""The vmrun driver: the only module that knows vmrun's verbs and argv.

``Vmrun`` turns Python calls into vmrun command lines (auth flags always before
the verb), runs them through the injected ``Runner`` with a timeout, decides
failure (exit code *or* an ``Error:`` line: vmrun sometimes exits 0 with one),
raises the class ``vmrun_output.FAILURES`` names, retries transient failures of
idempotent verbs through ``toolkit.host.clock.retry`` and detects a Player-only host.
It must not spawn processes or touch files itself (the Runner does), parse
output by hand (``vmrun_output.py`` does), or put a password in logs or errors.
"""

from __future__ import annotations

import enum
import logging
import ntpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from toolkit.errors import (
    HostConnectionError,
    PlayerOnlyHostError,
    SshConnectionLost,
    ToolkitError,
    TransientVmrunError,
    VmInUseError,
    VmrunError,
)
from toolkit.host.clock import Clock, retry
from toolkit.host.runner import Runner
from toolkit.vmware import vmrun_output as out
from toolkit.vmware.vmrun_output import GuestProcess, HostType, Snapshot, ToolsState

__all__ = [
    "CloneKind",
    "GuestCredentials",
    "GuestProcess",
    "HostType",
    "Snapshot",
    "StopMode",
    "ToolsState",
    "Vmrun",
]

log = logging.getLogger(__name__)

# Verbs whose repetition cannot change the outcome: only these are retried.
IDEMPOTENT = frozenset(
    {
        "list",
        "checktoolsstate",
        "getguestipaddress",
        "listsnapshots",
        "listprocessesinguest",
        "fileexistsinguest",
        "directoryexistsinguest",
        "listdirectoryinguest",
        "copyfilefromhosttoguest",
        "copyfilefromguesttohost",
    }
)
# Only these transient failures are retried here: tools-not-running and no-IP-yet are
# states the caller polls for (Guest.wait_for_tools, guest_ip), not flukes. An SSH
# connection that dropped while vmrun ran is worth another try of an idempotent verb.
RETRIED: tuple[type[ToolkitError], ...] = (
    HostConnectionError,
    TransientVmrunError,
    VmInUseError,
    SshConnectionLost,
)
RETRY_ATTEMPTS = 4
RETRY_DELAY = 1.0
RETRY_MAX_DELAY = 8.0
RETRY_TOTAL = 60.0
# A VM powered on by "start" must outlive the session that ran vmrun: over SSH to a
# Windows host, Win32-OpenSSH kills the session's job object (and the VM with it).
OUTLIVES_SESSION = frozenset({"start"})
GUEST_EXIT_ANSWER = "Guest program exited with non-zero exit code"


class StopMode(str, enum.Enum):
    SOFT = "soft"
    HARD = "hard"


class CloneKind(str, enum.Enum):
    FULL = "full"
    LINKED = "linked"


@dataclass(frozen=True, slots=True)
class GuestCredentials:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Request:
    verb: str
    vmx: str
    params: tuple[str, ...]
    creds: GuestCredentials | None
    timeout: float
    answers: tuple[str, ...]  # output lines that are answers even with a non-zero exit


class Vmrun:
    """vmrun on one VMware host (see module docstring)."""

    def __init__(
        self,
        runner: Runner,
        *,
        binary: str,
        host_type: HostType | None = None,
        clock: Clock,
        timeout: float = 120.0,
        vm_password: str | None = None,
    ) -> None:
        """``host_type=None``: start with ``ws`` and switch to ``player`` if the host says so."""
        self._runner = runner
        self._binary = binary
        self._host_type = host_type or HostType.WORKSTATION
        self._detect = host_type is None
        self._clock = clock
        self._timeout = timeout
        self._vm_password = vm_password

    @property
    def host_type(self) -> HostType:
        return self._host_type

    @property
    def runner(self) -> Runner:
        return self._runner

    # --- power and inventory ------------------------------------------------------------

    def list_running(self) -> list[str]:
        return out.parse_list(self._call("list", ""))

    def is_running(self, vmx: str) -> bool:
        """Whether ``list`` shows ``vmx`` (paths compared normalised, case-folded on Windows/macOS)."""
        wanted = self._normal(self._runner.absolute(vmx))
        return any(self._normal(path) == wanted for path in self.list_running())

    def _normal(self, path: str) -> str:
        flavour = self._runner.path
        norm: str = flavour.normpath(path)
        folds = flavour is ntpath or self._host_type is HostType.FUSION
        return norm.casefold() if folds else norm

    def start(self, vmx: str, *, gui: bool = False, timeout: float | None = None) -> None:
        self._call("start", vmx, "gui" if gui else "nogui", timeout=timeout)

    def stop(self, vmx: str, mode: StopMode, *, timeout: float | None = None) -> None:
        """A soft stop blocks until the guest is off and hangs without Tools: mind ``timeout``."""
        self._call("stop", vmx, StopMode(mode).value, timeout=timeout)

    def reset(self, vmx: str, mode: StopMode) -> None:
        self._call("reset", vmx, StopMode(mode).value)

    def suspend(self, vmx: str, mode: StopMode = StopMode.HARD) -> None:
        self._call("suspend", vmx, StopMode(mode).value)

    def pause(self, vmx: str) -> None:
        self._call("pause", vmx)

    def unpause(self, vmx: str) -> None:
        self._call("unpause", vmx)

    def clone(
        self, src: str, dst: str, kind: CloneKind, *, snapshot: str | None = None, name: str | None = None
    ) -> None:
        """vmrun wants ``-snapshot=NAME`` and ``-cloneName=NAME`` as single arguments."""
        options = []
        if snapshot is not None:
            options.append(f"-snapshot={snapshot}")
        if name is not None:
            options.append(f"-cloneName={name}")
        self._call("clone", src, self._runner.absolute(dst), CloneKind(kind).value, *options)

    def delete_vm(self, vmx: str) -> None:
        self._call("deleteVM", vmx)

    def tools_state(self, vmx: str) -> ToolsState:
        # "unknown" comes with exit 254 and is an answer, not a failure.
        return out.parse_tools_state(self._call("checkToolsState", vmx, answers=("unknown",)))

    def guest_ip(self, vmx: str) -> str | None:
        """The guest's IPv4 address; ``None`` while it has none (no ``-wait``: it blocks forever)."""
        answers = ("Error: Unable to get the IP address", "unknown")
        return out.parse_guest_ip(self._call("getGuestIPAddress", vmx, answers=answers))

    # --- snapshots ------------------------------------------------------------------------

    def snapshot(self, vmx: str, name: str) -> None:
        self._call("snapshot", vmx, name)

    def delete_snapshot(self, vmx: str, name: str, *, children: bool = False) -> None:
        self._call("deleteSnapshot", vmx, name, *(["andDeleteChildren"] if children else []))

    def revert_to_snapshot(self, vmx: str, name: str) -> None:
        self._call("revertToSnapshot", vmx, name)

    def list_snapshots(self, vmx: str) -> list[Snapshot]:
        return out.parse_snapshots(self._call("listSnapshots", vmx, "showTree"))

    # --- guest operations -------------------------------------------------------------------

    def copy_to_guest(self, vmx: str, creds: GuestCredentials, host_path: str, guest_path: str) -> None:
        self._call("CopyFileFromHostToGuest", vmx, self._runner.absolute(host_path), guest_path, creds=creds)

    def copy_from_guest(self, vmx: str, creds: GuestCredentials, guest_path: str, host_path: str) -> None:
        self._call("CopyFileFromGuestToHost", vmx, guest_path, self._runner.absolute(host_path), creds=creds)

    def run_in_guest(
        self,
        vmx: str,
        creds: GuestCredentials,
        program: str,
        args: Sequence[str],
        *,
        wait: bool = True,
        interactive: bool = False,
        timeout: float | None = None,
    ) -> int | None:
        """The exit code vmrun reported (``None`` with ``wait=False``); vmrun's own exit is not it."""
        flags = (["-noWait"] if not wait else []) + (["-interactive"] if interactive else [])
        return self._program("runProgramInGuest", vmx, creds, [*flags, program, *args], wait, timeout)

    def run_script_in_guest(
        self,
        vmx: str,
        creds: GuestCredentials,
        interpreter: str,
        text: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> int | None:
        flags = [] if wait else ["-noWait"]
        return self._program("runScriptInGuest", vmx, creds, [*flags, interpreter, text], wait, timeout)

    def _program(
        self,
        verb: str,
        vmx: str,
        creds: GuestCredentials,
        params: list[str],
        wait: bool,
        timeout: float | None,
    ) -> int | None:
        text = self._call(verb, vmx, *params, creds=creds, timeout=timeout, answers=(GUEST_EXIT_ANSWER,))
        return out.parse_guest_exit(text) if wait else None

    def processes(self, vmx: str, creds: GuestCredentials) -> list[GuestProcess]:
        return out.parse_processes(self._call("listProcessesInGuest", vmx, creds=creds))

    def kill_process(self, vmx: str, creds: GuestCredentials, pid: int) -> None:
        self._call("killProcessInGuest", vmx, str(pid), creds=creds)

    def file_exists(self, vmx: str, creds: GuestCredentials, path: str) -> bool:
        # "The file does not exist." may come with a non-zero exit: classify by text.
        answers = ("The file exists.", "The file does not exist.")
        return out.parse_exists(self._call("fileExistsInGuest", vmx, path, creds=creds, answers=answers))

    def dir_exists(self, vmx: str, creds: GuestCredentials, path: str) -> bool:
        answers = ("The directory exists.", "The directory does not exist.")
        return out.parse_exists(self._call("directoryExistsInGuest", vmx, path, creds=creds, answers=answers))

    def mkdir(self, vmx: str, creds: GuestCredentials, path: str) -> None:
        self._call("createDirectoryInGuest", vmx, path, creds=creds)

    def delete_file(self, vmx: str, creds: GuestCredentials, path: str) -> None:
        self._call("deleteFileInGuest", vmx, path, creds=creds)

    def delete_dir(self, vmx: str, creds: GuestCredentials, path: str) -> None:
        self._call("deleteDirectoryInGuest", vmx, path, creds=creds)

    def list_dir(self, vmx: str, creds: GuestCredentials, path: str) -> list[str]:
        return out.parse_dir_list(self._call("listDirectoryInGuest", vmx, path, creds=creds))

    def temp_file(self, vmx: str, creds: GuestCredentials) -> str:
        """A new empty file in the guest's temp directory; its guest path."""
        answer = out.lines(self._call("CreateTempfileInGuest", vmx, creds=creds))
        if not answer:
            raise VmrunError("CreateTempfileInGuest printed no path", verb="CreateTempfileInGuest", vmx=vmx)
        return answer[-1].strip()

    # --- running vmrun ------------------------------------------------------------------------

    def _call(
        self,
        verb: str,
        vmx: str,
        *params: str,
        creds: GuestCredentials | None = None,
        timeout: float | None = None,
        answers: tuple[str, ...] = (),
    ) -> str:
        """vmrun's stdout (``\\r`` removed), or the classified ``VmrunError``."""
        # vmrun list prints absolute paths: a VM opened by a relative one would never match it.
        vmx = self._runner.absolute(vmx) if vmx else vmx
        request = _Request(verb, vmx, params, creds, timeout or self._timeout, answers)
        if verb.lower() not in IDEMPOTENT:
            return self._detecting(request)
        return retry(
            lambda: self._detecting(request),
            clock=self._clock,
            attempts=RETRY_ATTEMPTS,
            delay=RETRY_DELAY,
            max_delay=RETRY_MAX_DELAY,
            total=RETRY_TOTAL,
            retry_on=RETRIED,
        )

    def _detecting(self, request: _Request) -> str:
        try:
            text = self._once(request, self._host_type)
        except PlayerOnlyHostError:
            if not self._detect:
                raise
            log.info("vmrun: -T ws is not installed on this host; using -T player from now on")
            self._host_type, self._detect = HostType.PLAYER, False
            return self._once(request, HostType.PLAYER)
        self._detect = False
        return text

    def _once(self, request: _Request, host_type: HostType) -> str:
        argv = self._argv(request, host_type)
        log.debug("vmrun %s %s", request.verb, request.vmx)
        detach = request.verb.lower() in OUTLIVES_SESSION
        done = self._runner.run(argv, timeout=request.timeout, detach=detach)
        secrets = (self._vm_password, request.creds.password if request.creds else None)
        return out.judge(
            done,
            verb=request.verb,
            vmx=request.vmx,
            argv=argv,
            answers=request.answers,
            secrets=[s for s in secrets if s],
        )

    def _argv(self, request: _Request, host_type: HostType) -> list[str]:
        # Auth flags must precede the verb: after it vmrun prompts and misreads them.
        argv = [self._binary, "-T", host_type.value]
        if self._vm_password is not None:
            argv += ["-vp", self._vm_password]
        if request.creds is not None:
            argv += ["-gu", request.creds.user, "-gp", request.creds.password]
        return [*argv, request.verb, *([request.vmx] if request.vmx else []), *request.params]
