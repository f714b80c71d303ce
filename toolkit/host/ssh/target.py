"""Where and how to reach a remote VMware host over SSH.

Validates the settings (collecting every problem into one ``ConfigError``) and
loads the private key from its text, in memory only. Must not open connections.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from toolkit.errors import ConfigError, SshError

__all__ = ["HostPlatform", "SshTarget", "load_private_key"]

if TYPE_CHECKING:
    import paramiko


class HostPlatform(str, enum.Enum):
    LINUX = "linux"
    DARWIN = "darwin"
    WINDOWS = "windows"


@dataclass(frozen=True, slots=True)
class SshTarget:
    host: str
    username: str
    private_key: str = field(repr=False)
    port: int = 22
    platform: HostPlatform = HostPlatform.LINUX
    host_public_key: str | None = None
    insecure_skip_host_key_check: bool = False
    temp_dir: str | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> SshTarget:
        """Build from the ``vmrun.ssh_tunnel`` settings (``port`` may be a string)."""
        problems: list[str] = []
        host = _text(raw, "host", problems)
        username = _text(raw, "username", problems)
        private_key = _text(raw, "private_key", problems)
        port = _port(raw.get("port", 22), problems)
        platform = _platform(raw.get("platform", "linux"), problems)
        pinned = raw.get("host_public_key") or None
        if pinned is not None and (not isinstance(pinned, str) or len(pinned.split()) < 2):
            problems.append("ssh_tunnel.host_public_key must look like 'ssh-ed25519 AAAA...'")
        if problems:
            raise ConfigError(problems, subject="ssh_tunnel settings")
        return cls(
            host,
            username,
            private_key,
            port,
            platform,
            host_public_key=pinned if isinstance(pinned, str) else None,
            insecure_skip_host_key_check=raw.get("insecure_skip_host_key_check") is True,
            temp_dir=str(raw["temp_dir"]) if raw.get("temp_dir") else None,
        )


def _text(raw: Mapping[str, object], key: str, problems: list[str]) -> str:
    value = raw.get(key)
    if isinstance(value, str) and value.strip():
        return value
    problems.append(f"ssh_tunnel.{key} must be a non-empty string")
    return ""


def _port(value: object, problems: list[str]) -> int:
    try:
        port = int(str(value))
    except ValueError:
        port = -1
    if not 0 < port < 65536 or isinstance(value, bool):
        problems.append(f"ssh_tunnel.port must be a number from 1 to 65535, not {value!r}")
    return port


def _platform(value: object, problems: list[str]) -> HostPlatform:
    try:
        return HostPlatform(str(value).lower())
    except ValueError:
        problems.append(f"ssh_tunnel.platform must be linux, darwin or windows, not {value!r}")
        return HostPlatform.LINUX


def load_private_key(text: str) -> paramiko.PKey:
    """Parse an unencrypted PEM or OpenSSH private key held in memory."""
    import paramiko  # only when connecting: validating settings (CPI info) must stay fast

    key_types: tuple[type[paramiko.PKey], ...] = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
    for key_type in key_types:
        try:
            return key_type.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    # Never echo the key text itself: only say what was expected.
    raise SshError("ssh_tunnel.private_key is not an unencrypted RSA, ECDSA or Ed25519 private key")
