"""Turning toolkit errors into the one ``Error: ...`` line a user sees.

Responsible for the wording (what failed, then what to do) and for keeping
tracebacks out of the terminal unless ``-vv``. It must not decide anything
from message text: only the exception type and its structured fields.
"""

from __future__ import annotations

import logging

import click

from toolkit import errors

log = logging.getLogger(__name__)

# What to do next, by error type; the first matching class (in order) wins.
HINTS: tuple[tuple[type[errors.ToolkitError], str], ...] = (
    (errors.SshError, ("check --ssh-key, and pin the host's key with --ssh-host-key 'TYPE BASE64' "
                       "or VMTK_SSH_HOST_KEY")),
    (errors.SpawnError, "check the program path (--vmrun / VMTK_VMRUN, --ovftool)"),
    (errors.CommandTimeout, "the host may be busy or showing a dialog; check the VMware GUI"),
    (errors.HostFileNotFound, "check the path"),
    (errors.VmNotFoundError, "check the .vmx path"),
    (errors.VmNotRunningError, "start it first: vmtk vm start VMX"),
    (errors.VmRunningError, "stop it first: vmtk vm stop VMX"),
    (errors.VmInUseError, "close the VMware GUI or remove stale .lck directories"),
    (errors.ToolsNotRunningError, "wait for the guest to boot: vmtk guest wait VMX"),
    (errors.GuestAuthError, "check --guest-user and the password variable (--guest-password-env)"),
    (errors.PlayerOnlyHostError, "this host runs Player: use -T player"),
    (errors.NotSupportedError, "this VMware product cannot do that (Player has no snapshots or clones)"),
    (errors.GuestFileNotFoundError, "check the guest path"),
    (errors.SnapshotNotFoundError, "list snapshots: vmtk vm snapshots VMX"),
    (errors.WaitTimeout, "raise the wait with --max-wait/--timeout, or check the guest"),
)


def one_line(exc: BaseException) -> str:
    """The exception and its causes as one line: ``what: why: why``."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        text = _first_line(seen)
        if text and not any(text in part for part in parts):  # causes often repeat their wrapper's text
            parts.append(text)
        seen = seen.__cause__
    return ": ".join(parts) or type(exc).__name__


# An SshError caused by a socket error never got as far as keys: say where to look instead.
UNREACHABLE_HINT = "is an SSH server listening there? check --ssh USER@HOST:PORT or VMTK_SSH"


def hint(exc: errors.ToolkitError) -> str | None:
    if isinstance(exc, errors.SshError) and isinstance(exc.__cause__, OSError):
        return UNREACHABLE_HINT
    return next((text for cls, text in HINTS if isinstance(exc, cls)), None)


def to_click(exc: errors.ToolkitError, *, verbosity: int) -> click.ClickException:
    """The ClickException that prints ``Error: <what failed> (<what to do>)`` and exits 1."""
    if verbosity >= 2:
        log.error("traceback follows", exc_info=exc)
    message = one_line(exc)
    advice = hint(exc)
    return click.ClickException(f"{message} ({advice})" if advice else message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else ""
