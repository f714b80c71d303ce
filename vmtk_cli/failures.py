"""Turning toolkit errors into the one ``Error: ...`` line a user sees.

Responsible for the wording (what failed, then what to do) and for keeping
tracebacks out of the terminal unless ``-vv``. Besides toolkit errors it words
an ``OSError`` that escaped a command (the ``sim`` group touches its own files
directly). It must not decide anything from message text: only the exception
type and its structured fields.
"""

from __future__ import annotations

import logging

import click

from toolkit import errors

log = logging.getLogger(__name__)

# What to do next, by error type; the first matching class (in order) wins.
HINTS: tuple[tuple[type[errors.ToolkitError], str], ...] = (
    (
        errors.SshError,
        ("check --ssh-key, and pin the host's key with --ssh-host-key 'TYPE BASE64' or VMTK_SSH_HOST_KEY"),
    ),
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


# What to do next about an OSError, by type (the first match wins).
OS_HINTS: tuple[tuple[type[OSError], str], ...] = (
    (FileNotFoundError, "check the path"),
    (PermissionError, "check the path's permissions"),
    (OSError, "check the path"),
)


def one_line(exc: BaseException) -> str:
    """The exception and its causes as one line: ``what: why: why``."""
    parts: list[str] = []
    for seen in _chain(exc):
        text = _describe(seen)
        if text and not any(text.lower() in part.lower() for part in parts):  # causes often repeat their wrapper
            parts.append(text)
    return ": ".join(parts) or type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and up to three causes, ending at a host file error's OSError.

    A ``HostFileError`` already names the path the user gave and the reason;
    its OSError would repeat the reason with ``[Errno N]`` and may name an
    internal file (the ``.tmp-xxxxxxxx`` of an atomic write). ``-vv`` shows it.
    """
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 4:
        chain.append(seen)
        if isinstance(seen, errors.HostFileError) and isinstance(seen.__cause__, OSError):
            break
        seen = seen.__cause__
    return chain


# An SshError caused by a socket error never got as far as keys: say where to look instead.
UNREACHABLE_HINT = "is an SSH server listening there? check --ssh USER@HOST:PORT or VMTK_SSH"


def hint(exc: errors.ToolkitError) -> str | None:
    if isinstance(exc, errors.SshError) and isinstance(exc.__cause__, OSError):
        return UNREACHABLE_HINT
    return next((text for cls, text in HINTS if isinstance(exc, cls)), None)


def os_hint(exc: OSError) -> str:
    return next(text for cls, text in OS_HINTS if isinstance(exc, cls))


def to_click(exc: errors.ToolkitError | OSError, *, verbosity: int) -> click.ClickException:
    """The ClickException that prints ``Error: <what failed> (<what to do>)`` and exits 1."""
    if verbosity >= 2:
        log.error("traceback follows", exc_info=exc)
    message = one_line(exc)
    advice = os_hint(exc) if isinstance(exc, OSError) else hint(exc)
    text = f"{message} ({advice})" if advice else message
    if isinstance(exc, errors.GuestProgramNotFoundError):
        return _NotFound(text)
    return click.ClickException(text)


class _NotFound(click.ClickException):
    exit_code = errors.GuestProgramNotFoundError.exit_code  # 127, as a shell answers a command it cannot find


def _describe(exc: BaseException) -> str:
    """``'PATH': reason`` for an OSError that names its file, else the first line of its text."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        names = [repr(str(n)) for n in (exc.filename, exc.filename2) if n is not None]
        return f"{' -> '.join(names)}: {exc.strerror}"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else ""
