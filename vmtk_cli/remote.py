"""``vmtk --ssh``: turning the ``--ssh*`` options into an ``SshTarget``.

Parses ``user@host[:port]`` (a pure function), reads the private key file on
THIS machine into memory, and says where vmrun is installed on a host of each
platform. It must not open connections (that is ``toolkit.host.ssh.runner``), and the key
text must never reach argv, a log line or an error message.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from toolkit.host.ssh.target import SshTarget

log = logging.getLogger(__name__)

DEFAULT_PORT = 22
# What OpenSSH's client tries when no -i is given, in its order.
DEFAULT_KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")
# Where each platform's installer puts vmrun (none of them adds it to PATH on Windows),
# keyed by ``toolkit.host.ssh.target.HostPlatform`` values: that module (and paramiko) is
# only imported when --ssh is used, so local commands start fast.
HOST_VMRUN_PATHS: Mapping[str, str] = {
    "windows": r"C:\Program Files (x86)\VMware\VMware Workstation\vmrun.exe",
    "darwin": "/Applications/VMware Fusion.app/Contents/Library/vmrun",
    "linux": "/usr/bin/vmrun",
}
PLATFORMS = ("linux", "darwin", "windows")


@dataclass(frozen=True, slots=True)
class Destination:
    username: str
    host: str
    port: int = DEFAULT_PORT


@dataclass(frozen=True, slots=True)
class SshOptions:
    """The ``--ssh*`` options as given (paths and text, no key material)."""

    destination: str
    key_file: str | None = None
    host_key: str | None = None
    platform: str = "linux"
    insecure: bool = False


def parse_destination(text: str, *, default_user: str | None = None) -> Destination:
    """``[user@]host[:port]``; an IPv6 host is written in brackets: ``u@[::1]:2222``."""
    user, at, rest = text.rpartition("@")
    if not at:
        user, rest = default_user or getpass.getuser(), text
    host, port = _host_and_port(rest)
    if not user or not host:
        raise click.BadParameter(f"{text!r} is not user@host[:port]", param_hint="--ssh")
    return Destination(user, host, port)


def _host_and_port(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, _, tail = text[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"port {port!r} is not a number from 1 to 65535", param_hint="--ssh")
    return host, int(port)


def ssh_target(options: SshOptions) -> SshTarget:
    """The target to connect to, with the private key read from its file now."""
    from toolkit.host.ssh.target import HostPlatform, SshTarget

    where = parse_destination(options.destination)
    log.info("driving the VMware host %s@%s:%d over SSH", where.username, where.host, where.port)
    return SshTarget(
        where.host,
        where.username,
        read_key(options.key_file),
        where.port,
        HostPlatform(options.platform),
        host_public_key=options.host_key or None,
        insecure_skip_host_key_check=options.insecure,
    )


def read_key(path: str | None) -> str:
    """The private key text from ``path`` (default: the first of ssh's usual keys)."""
    candidates = [path] if path else [k for k in DEFAULT_KEYS if Path(k).expanduser().is_file()]
    if not candidates:
        raise click.ClickException("--ssh needs a private key: give --ssh-key PATH (or VMTK_SSH_KEY)")
    try:
        return Path(candidates[0]).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # Only the path and the reason: never any of the file's content.
        raise click.ClickException(f"cannot read the SSH key {candidates[0]}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
