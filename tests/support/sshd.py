"""A real OpenSSH server on 127.0.0.1 for tests: ``benchmarks.sshd``, skipping when it cannot run.

Used by the SSH runner tests and the CPI-over-SSH lifecycle. Skips (never
fails) when no sshd is installed or it cannot start here (.ci/run installs
openssh-server). The server itself is ``benchmarks.sshd``, shared with
``make bench``; this module only turns ``NoSshServerError`` into a skip and can
restart it with RSA, ECDSA and Ed25519 host keys, as Windows and macOS hosts have.
``secret_part`` gives the piece of a user key's text that leak checks look for.
"""

from __future__ import annotations

import base64
import dataclasses
import struct
import subprocess
from pathlib import Path

import pytest

from benchmarks import sshd as _server
from benchmarks.errors import NoSshServerError
from benchmarks.sshd import Sshd, _free_port, stop_sshd

__all__ = [
    "Sshd",
    "_free_port",
    "_wait_for_port",
    "secret_part",
    "start_sshd",
    "start_sshd_with_every_host_key_type",
    "stop_sshd",
]

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


def secret_part(private_key: str) -> str:
    """Characters of an unencrypted OpenSSH Ed25519 key's text that encode only its secret seed.

    The first ~80 base64 characters are the same header in every such key and the public
    key is, well, public: a leak check looking for either finds other keys (or none of
    this one). The piece returned lies on one line of the text, so it is found whether a
    leak keeps the line breaks, drops them or escapes them (JSON's ``\\n``).
    """
    lines = private_key.strip().splitlines()[1:-1]
    start, end = _ed25519_seed(base64.b64decode("".join(lines)))
    first, last = -(-start * 4 // 3), end * 4 // 3  # the characters no other byte contributes to
    line_start, best = 0, (0, 0)
    for line in lines:
        a, b = max(first, line_start), min(last, line_start + len(line))
        best = max(best, (a, b), key=lambda span: span[1] - span[0])
        line_start += len(line)
    assert best[1] - best[0] >= 32, "no long enough piece of the seed on one line"
    return "".join(lines)[best[0] : best[1]]


def _ed25519_seed(raw: bytes) -> tuple[int, int]:
    """Where the 32-byte secret seed is in a decoded ``openssh-key-v1`` Ed25519 key."""
    magic = b"openssh-key-v1\0"
    assert raw.startswith(magic), "not an OpenSSH private key"
    at = len(magic)
    for _ in ("cipher", "kdf", "kdf options"):
        at = _skip_string(raw, at)
    at += 4  # the number of keys
    at = _skip_string(raw, at)  # the public key blob
    at += 4 + 8  # the private section's length, then its two check integers
    assert raw[at + 4 : at + 15] == b"ssh-ed25519", "not an Ed25519 key"
    at = _skip_string(raw, _skip_string(raw, at))  # key type, public key
    return at + 4, at + 4 + 32  # the private key string: seed, then the public key again


def _skip_string(raw: bytes, at: int) -> int:
    (length,) = struct.unpack(">I", raw[at : at + 4])
    return at + 4 + int(length)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    try:
        _server._wait_for_port(port, process)
    except NoSshServerError as exc:
        pytest.skip(str(exc))
