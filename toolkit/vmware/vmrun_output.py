"""What vmrun prints, read as Python values: pure parsers and the one error table.

Everything here is a pure function of vmrun's text (already captured by a
Runner): deciding whether an answer is a failure, which ``VmrunError`` class a
failure is, and parsing ``list``, ``listSnapshots``, ``listProcessesInGuest``,
``checkToolsState``, ``getGuestIPAddress`` and the guest-file answers. The
strings come from ``fixtures/outputs/vmrun/``. This module must not run
anything, touch files or build vmrun's argv (that is ``vmrun.py``).
"""

from __future__ import annotations

import enum
import ntpath
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from toolkit.errors import (
    GuestAuthError,
    GuestFileNotFoundError,
    GuestIpUnavailableError,
    GuestPermissionError,
    HostConnectionError,
    NotSupportedError,
    OperationCanceledError,
    PlayerOnlyHostError,
    SnapshotExistsError,
    SnapshotNotFoundError,
    SnapshotUnchangedError,
    ToolsNotRunningError,
    TransientVmrunError,
    VmInUseError,
    VmNotFoundError,
    VmNotRunningError,
    VmPasswordError,
    VmPausedError,
    VmrunError,
    VmRunningError,
    VmxUnreadableError,
)
from toolkit.host.runner import Completed, redact

__all__ = [
    "ERROR_PREFIX",
    "FAILURES",
    "GuestProcess",
    "HostType",
    "PLAYER_ONLY_MARK",
    "Snapshot",
    "ToolsState",
    "classify",
    "error_text",
    "judge",
    "lines",
    "parse_dir_list",
    "parse_exists",
    "parse_guest_exit",
    "parse_guest_ip",
    "parse_list",
    "parse_processes",
    "parse_snapshots",
    "parse_tools_state",
    "starts_any",
]

ERROR_PREFIX = "Error:"
# "-T ws" on a Player-only host: "Unable to connect to host." then
# "Error: Service type VIX_SERVICEPROVIDER_VMWARE_WORKSTATION was specified, but not installed".
PLAYER_ONLY_MARK = "VIX_SERVICEPROVIDER_VMWARE_WORKSTATION"

# Substring of the "Error: ..." text -> class, first match wins (case-insensitive).
# Every entry is checked against its captured string in tests/toolkit/test_vmrun_output.py;
# entries marked "not captured" come from the error catalogue (§1.5), not from a fixture.
FAILURES: tuple[tuple[str, type[VmrunError]], ...] = (
    (PLAYER_ONLY_MARK, PlayerOnlyHostError),
    # Follows "Unable to connect to host." too, but is a VIX/product mismatch: never transient.
    ("The specified version was not found", VmrunError),
    # Transient host-connection failure; must precede the plain "is not supported".
    ("not supported for the specified parameters", HostConnectionError),
    ("The operation is not supported", NotSupportedError),
    ("Incorrect password", VmPasswordError),
    ("A password is required", VmPasswordError),  # not captured [C]
    ("The virtual machine cannot be found", VmNotFoundError),
    ("Cannot read the virtual machine configuration file", VmxUnreadableError),
    ("is not powered on", VmNotRunningError),
    ("should not be powered on", VmRunningError),
    ("is paused", VmPausedError),
    ("This VM is in use", VmInUseError),
    ("The operation was canceled", OperationCanceledError),
    ("VMware Tools are not running", ToolsNotRunningError),
    ("Invalid user name or password", GuestAuthError),
    ("Anonymous guest operations", GuestAuthError),
    ("Insufficient permissions in the guest", GuestPermissionError),  # not captured [I]
    ("A file was not found", GuestFileNotFoundError),
    ("Unable to get the IP address", GuestIpUnavailableError),
    ("A snapshot with the name already exists", SnapshotExistsError),
    ("The snapshot does not exist", SnapshotNotFoundError),
    ("Invalid snapshot name", SnapshotNotFoundError),
    ("has not changed since the last snapshot", SnapshotUnchangedError),
    ("Unknown error", TransientVmrunError),  # not captured [R]: VMLab retries it
)

_GUEST_EXIT = re.compile(r"^Guest program exited with non-zero exit code: (-?\d+)$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_EXE = re.compile(r"^(.*?\.exe)(?=\s|$)", re.IGNORECASE)


class HostType(str, enum.Enum):
    """vmrun's ``-T`` value."""

    WORKSTATION = "ws"
    FUSION = "fusion"
    PLAYER = "player"


class ToolsState(str, enum.Enum):
    RUNNING = "running"
    INSTALLED = "installed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot name and its depth in the tree (0 for a root snapshot)."""

    name: str
    depth: int


@dataclass(frozen=True, slots=True)
class GuestProcess:
    pid: int
    owner: str
    command: str

    @property
    def name(self) -> str:
        """The program's basename: ``/var/vcap/bosh/bin/bosh-agent -P x`` -> ``bosh-agent``.

        Bare names stay whole: Linux kernel threads are listed as ``ksoftirqd/0``.
        """
        program = _program(self.command)
        if "\\" in program:
            return ntpath.basename(program)
        return posixpath.basename(program) if program.startswith("/") else program


def _program(command: str) -> str:
    if command.startswith('"'):
        return command[1:].split('"', 1)[0]
    # Windows lists unquoted paths with spaces ("C:\Program Files\...\vmtoolsd.exe -n vmusr").
    exe = _EXE.match(command)
    return exe.group(1) if exe else (command.split() or [""])[0]


def lines(text: str) -> list[str]:
    """Output lines without Windows' ``\\r`` and without blank lines."""
    return [line for line in text.replace("\r", "").split("\n") if line.strip()]


def error_text(output: str) -> str | None:
    """The text of the first ``Error:`` line (warning noise before it is ignored)."""
    for line in lines(output):
        if line.startswith(ERROR_PREFIX):
            return line[len(ERROR_PREFIX) :].strip()
    return None


def classify(text: str, *, vmx: str = "") -> type[VmrunError]:
    """The exception class for an error text; the vmx path is left out of the match."""
    haystack = (text.replace(vmx, "") if vmx else text).lower()
    for needle, cls in FAILURES:
        if needle.lower() in haystack:
            return cls
    return VmrunError


def judge(
    done: Completed,
    *,
    verb: str,
    vmx: str,
    argv: Sequence[str],
    answers: Sequence[str] = (),
    secrets: Sequence[str] = (),
) -> str:
    """vmrun's stdout without ``\r`` if it succeeded, else raise the classified error.

    Failed means exit code != 0 *or* an ``Error:`` line: vmrun sometimes exits 0 with
    one. Output lines starting with one of ``answers`` are answers, whatever the exit
    code (``checkToolsState`` prints ``unknown`` with exit 254). ``secrets`` never
    reach the exception's text.
    """
    output = (done.stdout + "\n" + done.stderr).replace("\r", "")
    failed = done.exit_code != 0 or error_text(output) is not None
    if not failed or starts_any(done.stdout, answers):
        return done.stdout.replace("\r", "")
    found = error_text(output) or " ".join(lines(output)[-1:]) or f"exit code {done.exit_code}"
    return _raise(classify(found, vmx=vmx), f"vmrun {verb} failed: {found}", done, verb, vmx, argv, secrets)


def _raise(
    cls: type[VmrunError],
    message: str,
    done: Completed,
    verb: str,
    vmx: str,
    argv: Sequence[str],
    secrets: Sequence[str],
) -> NoReturn:
    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    output = (done.stdout + "\n" + done.stderr).replace("\r", "").strip()
    raise cls(scrub(message), verb=verb, vmx=vmx, argv=redact(argv), exit_code=done.exit_code, output=scrub(output))


def parse_list(text: str) -> list[str]:
    """``list``: the running VMs' paths as vmrun spells them."""
    return [line.strip() for line in lines(text) if _looks_like_path(line.strip())]


def _looks_like_path(line: str) -> bool:
    # Warnings (libxml, OpenSSL) and the "Total running VMs: N" header are not paths.
    return line.lower().endswith(".vmx") and (line.startswith("/") or ntpath.isabs(line))


def parse_snapshots(text: str) -> list[Snapshot]:
    """``listSnapshots [showTree]``: one TAB per depth level; names may contain spaces."""
    found = [line for line in lines(text) if not line.startswith("Total snapshots:")]
    return [Snapshot(line.lstrip("\t"), len(line) - len(line.lstrip("\t"))) for line in found]


def parse_processes(text: str) -> list[GuestProcess]:
    """``listProcessesInGuest``: ``pid=P, owner=O, cmd=C`` lines; cmd may contain ", "."""
    out = []
    for line in lines(text):
        # Owners hold spaces and backslashes (NT AUTHORITY\SYSTEM); only cmd may hold ", ".
        parts = line.split(", ", 2)
        if len(parts) == 3 and parts[0].startswith("pid=") and parts[0][4:].isdigit():
            owner, cmd = parts[1], parts[2]
            if owner.startswith("owner=") and cmd.startswith("cmd="):
                out.append(GuestProcess(int(parts[0][4:]), owner[6:], cmd[4:]))
    return out


def parse_tools_state(text: str) -> ToolsState:
    """``checkToolsState``: the last word printed (``unknown`` arrives with exit 254)."""
    words = lines(text)
    try:
        return ToolsState(words[-1].strip().lower())
    except (IndexError, ValueError):
        raise VmrunError(f"unexpected checkToolsState answer: {text.strip()!r}", output=text) from None


def parse_guest_ip(text: str) -> str | None:
    """``getGuestIPAddress``: the IPv4 address, ``None`` while the guest has none.

    Real vmrun may report a wrong NIC's address ending in ``.1`` (open-vm-tools#93);
    it is returned as reported, callers that care discard it.
    """
    for line in lines(text):
        match = _IPV4.match(line.strip())
        if match and all(int(part) <= 255 for part in match.groups()):
            return line.strip()
    return None


def parse_exists(text: str) -> bool:
    """``fileExistsInGuest``/``directoryExistsInGuest``: "The file exists." or "...does not exist.\""""
    answer = " ".join(lines(text)).lower()
    if "does not exist" in answer:
        return False
    if "exists" in answer:
        return True
    raise VmrunError(f"unexpected existence answer: {text.strip()!r}", output=text)


def parse_dir_list(text: str) -> list[str]:
    """``listDirectoryInGuest``: the entry names after the ``Directory list: N`` header."""
    return [line for line in lines(text) if not line.startswith("Directory list:")]


def parse_guest_exit(text: str) -> int:
    """The guest program's code from "Guest program exited with non-zero exit code: N", else 0."""
    for line in lines(text):
        match = _GUEST_EXIT.match(line.strip())
        if match:
            return int(match.group(1))
    return 0


def starts_any(text: str, prefixes: Sequence[str]) -> bool:
    """Whether some output line starts with one of ``prefixes`` (answers that are not failures)."""
    return any(line.strip().startswith(tuple(prefixes)) for line in lines(text)) if prefixes else False
