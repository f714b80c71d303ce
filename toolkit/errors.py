"""The toolkit's one error tree.

Every failure the toolkit's primitives report is a ``ToolkitError``. Higher
layers (the CPI, the simulator, the harness, the CLI) define their own errors
beside their code, deriving from these where they are toolkit failures, and add
context by chaining (``raise X(...) from exc``), never by parsing messages.
Nothing here knows those layers. Nothing in the toolkit returns ``None`` to mean
failure.

    ToolkitError
    ├── RunnerError                  a program or host file operation could not be done
    │   ├── SpawnError               the program could not be started
    │   ├── CommandTimeout           the program ran past its timeout and was killed
    │   ├── HostFileError            a host file operation failed
    │   │   └── HostFileNotFound
    │   ├── LockTimeout              a host lock could not be taken in time
    │   └── SshError                 the SSH connection failed (refused, auth, host key)
    │       ├── SshUnreachable       no connection could be made: refused, timed out (transient)
    │       └── SshConnectionLost    the connection dropped mid-operation (transient)
    ├── VmrunError                   vmrun answered with an error (verb, vmx, argv, output)
    │   ├── HostConnectionError      "Unable to connect to host." family (transient)
    │   ├── PlayerOnlyHostError      -T ws on a Player-only host
    │   ├── NotSupportedError        the product cannot do this (Player snapshots/clones)
    │   ├── VmNotFoundError          "Cannot open VM: ..., The virtual machine cannot be found"
    │   ├── VmxUnreadableError       "Cannot read the virtual machine configuration file"
    │   ├── VmPasswordError          encrypted VM without or with a wrong -vp
    │   ├── VmNotRunningError        "The virtual machine is not powered on"
    │   ├── VmRunningError           "should not be powered on. It is already running."
    │   ├── VmPausedError
    │   ├── VmInUseError             "This VM is in use." (GUI or stale lock; transient)
    │   ├── OperationCanceledError   "The operation was canceled" (start failed)
    │   ├── ToolsNotRunningError     (transient while a guest boots)
    │   ├── GuestAuthError           bad or missing guest credentials; never retried
    │   ├── GuestPermissionError
    │   ├── GuestFileNotFoundError   "A file was not found"
    │   ├── GuestIpUnavailableError  "Unable to get the IP address"
    │   ├── SnapshotExistsError
    │   ├── SnapshotNotFoundError    includes "Invalid snapshot name '<n>'"
    │   ├── SnapshotUnchangedError
    │   └── TransientVmrunError      "Unknown error" and similar (transient)
    ├── GuestCommandError            a guest program exited non-zero where success was required
    ├── VmxError                     a .vmx (or .vmsd) could not be parsed or edited
    │   ├── VmxSyntaxError           names the offending line
    │   └── DuplicateKeyError
    ├── IsoError
    ├── DiskError                    VMDK create/read/grow/convert failures
    ├── StemcellError
    │   ├── UnsafeArchiveError       a tarball member would escape its target or is hostile
    │   └── OvfError                 the OVF descriptor is missing, malformed or absurd
    ├── OvftoolError                 ovftool answered with an error
    ├── WaitTimeout                  a condition did not become true in time
    └── ConfigError                  settings are invalid; lists every problem

Exceptions marked ``transient = True`` may succeed when retried; ``retry`` in
``toolkit.host.clock`` retries only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "CommandTimeout",
    "ConfigError",
    "DiskError",
    "DuplicateKeyError",
    "GuestAuthError",
    "GuestCommandError",
    "GuestFileNotFoundError",
    "GuestIpUnavailableError",
    "GuestPermissionError",
    "GuestProgramNotFoundError",
    "HostConnectionError",
    "HostFileError",
    "HostFileNotFound",
    "IsoError",
    "LockTimeout",
    "NotSupportedError",
    "OperationCanceledError",
    "OvfError",
    "OvftoolError",
    "PlayerOnlyHostError",
    "RunnerError",
    "SnapshotExistsError",
    "SnapshotNotFoundError",
    "SnapshotUnchangedError",
    "SpawnError",
    "SshConnectionLost",
    "SshError",
    "SshUnreachable",
    "StemcellError",
    "ToolkitError",
    "ToolsNotRunningError",
    "TransientVmrunError",
    "UnsafeArchiveError",
    "VmInUseError",
    "VmNotFoundError",
    "VmNotRunningError",
    "VmPasswordError",
    "VmPausedError",
    "VmRunningError",
    "VmrunError",
    "VmxError",
    "VmxSyntaxError",
    "VmxUnreadableError",
    "WaitTimeout",
]


class ToolkitError(Exception):
    """Base of every error the toolkit raises."""

    transient: ClassVar[bool] = False


# --- running programs and touching host files -----------------------------------


class RunnerError(ToolkitError):
    """A program or host file operation could not be carried out at all."""


class SpawnError(RunnerError):
    def __init__(self, argv: Sequence[str], reason: str) -> None:
        super().__init__(f"cannot run {argv[0]!r}: {reason}")
        self.argv = tuple(argv)
        self.reason = reason


class CommandTimeout(RunnerError):
    def __init__(self, argv: Sequence[str], timeout: float, output: str = "") -> None:
        super().__init__(f"{argv[0]!r} did not finish within {timeout:g} s and was stopped")
        self.argv = tuple(argv)
        self.timeout = timeout
        self.output = output


class HostFileError(RunnerError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path!r}: {reason}")
        self.path = path
        self.reason = reason


class HostFileNotFound(HostFileError):
    def __init__(self, path: str) -> None:
        super().__init__(path, "no such file or directory")


class LockTimeout(RunnerError):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(f"lock {path!r} still held by another process after {timeout:g} s")
        self.path = path
        self.timeout = timeout


class SshError(RunnerError):
    """The SSH connection to the VMware host failed."""


class SshUnreachable(SshError):
    """No connection to the host could be made (refused, timed out, no route): nothing was done there."""

    transient = True


class SshConnectionLost(SshError):
    """The connection dropped while an operation ran: its outcome on the host is unknown."""

    transient = True


# --- vmrun ------------------------------------------------------------------------


class VmrunError(ToolkitError):
    """vmrun reported a failure.

    ``argv`` is already redacted (the guest password replaced by ``***``).
    """

    def __init__(
        self,
        message: str,
        *,
        verb: str = "",
        vmx: str = "",
        argv: Sequence[str] = (),
        exit_code: int | None = None,
        output: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.verb = verb
        self.vmx = vmx
        self.argv = tuple(argv)
        self.exit_code = exit_code
        self.output = output

    def __str__(self) -> str:
        lines = [self.message]
        if self.argv:
            lines.append("Command: " + " ".join(self.argv))
        if self.exit_code is not None:
            lines.append(f"Exit code: {self.exit_code}")
        if self.output.strip():
            lines.append("Output:")
            lines.extend("    " + line for line in self.output.strip().splitlines())
        return "\n".join(lines)


class HostConnectionError(VmrunError):
    transient = True


class PlayerOnlyHostError(VmrunError):
    pass


class NotSupportedError(VmrunError):
    pass


class VmNotFoundError(VmrunError):
    pass


class VmxUnreadableError(VmrunError):
    pass


class VmPasswordError(VmrunError):
    pass


class VmNotRunningError(VmrunError):
    pass


class VmRunningError(VmrunError):
    pass


class VmPausedError(VmrunError):
    pass


class VmInUseError(VmrunError):
    transient = True


class OperationCanceledError(VmrunError):
    pass


class ToolsNotRunningError(VmrunError):
    transient = True


class GuestAuthError(VmrunError):
    pass


class GuestPermissionError(VmrunError):
    pass


class GuestFileNotFoundError(VmrunError):
    pass


class GuestIpUnavailableError(VmrunError):
    transient = True


class SnapshotExistsError(VmrunError):
    pass


class SnapshotNotFoundError(VmrunError):
    pass


class SnapshotUnchangedError(VmrunError):
    pass


class TransientVmrunError(VmrunError):
    transient = True


# --- guest programs -----------------------------------------------------------------


class GuestCommandError(ToolkitError):
    """A guest program exited non-zero where success was required."""

    def __init__(self, command: Sequence[str], exit_code: int, stdout: str, stderr: str) -> None:
        self.command = tuple(command)
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"guest command exited with code {self.exit_code}: {' '.join(self.command)}"]
        for label, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            tail = text.strip().splitlines()[-10:]
            if tail:
                lines.append(f"{label} (last {len(tail)} lines):")
                lines.extend("    " + line for line in tail)
        return "\n".join(lines)


# --- files the toolkit parses or writes -----------------------------------------------


class GuestProgramNotFoundError(ToolkitError):
    """The program to run does not exist in the guest (it never started)."""

    exit_code = 127  # what a shell answers for a command it cannot find

    def __init__(self, program: str) -> None:
        self.program = program
        super().__init__(f"{program!r} was not found in the guest")


class VmxError(ToolkitError):
    pass


class VmxSyntaxError(VmxError):
    def __init__(self, line_number: int, line: str, reason: str, *, source: str = "") -> None:
        where = f"{source}:" if source else "line "
        super().__init__(f"{where}{line_number}: {reason}: {line!r}")
        self.line_number = line_number
        self.line = line
        self.reason = reason


class DuplicateKeyError(VmxError):
    pass


class IsoError(ToolkitError):
    pass


class DiskError(ToolkitError):
    pass


class StemcellError(ToolkitError):
    pass


class UnsafeArchiveError(StemcellError):
    pass


class OvfError(StemcellError):
    pass


class OvftoolError(ToolkitError):
    def __init__(self, message: str, *, argv: Sequence[str] = (), output: str = "") -> None:
        super().__init__(message)
        self.argv = tuple(argv)
        self.output = output


class WaitTimeout(ToolkitError):
    def __init__(self, what: str, timeout: float, last: str = "") -> None:
        detail = f" (last seen: {last})" if last else ""
        super().__init__(f"timed out after {timeout:g} s waiting for {what}{detail}")
        self.what = what
        self.timeout = timeout


class ConfigError(ToolkitError):
    """Invalid settings; ``problems`` lists every one found, not just the first."""

    def __init__(self, problems: Sequence[str], *, subject: str = "configuration") -> None:
        self.problems = tuple(problems)
        super().__init__(f"invalid {subject}: " + "; ".join(self.problems))
