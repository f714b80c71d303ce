"""A real OpenSSH server on 127.0.0.1 for tests: ``benchmarks.sshd``, skipping when it cannot run.

Used by the SSH runner tests and the CPI-over-SSH lifecycle. Skips (never
fails) when no sshd is installed or it cannot start here (.ci/run installs
openssh-server). The server itself is ``benchmarks.sshd``, shared with
``make bench``; this module only turns ``NoSshServerError`` into a skip and can
restart it with RSA, ECDSA and Ed25519 host keys, as Windows and macOS hosts have.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from benchmarks import sshd as _server
from benchmarks.sshd import Sshd, _free_port, stop_sshd
from toolkit.errors import NoSshServerError

__all__ = ["Sshd", "_free_port", "_wait_for_port", "start_sshd", "start_sshd_with_every_host_key_type", "stop_sshd"]

# What ``ssh-keygen -t`` calls each host key type the server gets besides its Ed25519 one.
EXTRA_HOST_KEY_TYPES = ("rsa", "ecdsa")


def start_sshd(folder: Path, *, log: Path | None = None) -> Sshd:
    try:
        return _server.start_sshd(folder, log=log)
    except NoSshServerError as exc:
        pytest.skip(str(exc))


def start_sshd_with_every_host_key_type(folder: Path) -> tuple[Sshd, dict[str, str]]:
    """An sshd offering RSA, ECDSA and Ed25519 host keys; with each one's pin ("type base64") by type.

    The plain server is started once to make its keys and config, then restarted on a
    fresh port from that config with the extra ``HostKey`` lines.
    """
    plain = start_sshd(folder)
    stop_sshd(plain)
    pins = {"ed25519": plain.host_public_key}
    config = (folder / "sshd_config").read_text()
    for kind in EXTRA_HOST_KEY_TYPES:
        _server._keygen(folder / f"host_key_{kind}", kind)
        config += f"HostKey {folder / f'host_key_{kind}'}\n"
        pins[kind] = " ".join((folder / f"host_key_{kind}.pub").read_text().split()[:2])
    port = _free_port()
    (folder / "sshd_config").write_text(config.replace(f"Port {plain.port}\n", f"Port {port}\n"))
    process = subprocess.Popen(
        [_server.sshd_binary(), "-D", "-e", "-f", str(folder / "sshd_config")], stderr=subprocess.DEVNULL
    )
    _wait_for_port(port, process)
    return dataclasses.replace(plain, port=port, process=process), pins


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    try:
        _server._wait_for_port(port, process)
    except NoSshServerError as exc:
        pytest.skip(str(exc))
