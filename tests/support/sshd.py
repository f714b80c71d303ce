"""A real OpenSSH server on 127.0.0.1 for tests: generated host and user keys.

Used by the SSH runner tests and the CPI-over-SSH lifecycle. Skips when no
sshd is installed (.ci/run installs openssh-server).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


@dataclass(frozen=True)
class Sshd:
    host: str
    port: int
    username: str
    private_key: str
    host_public_key: str
    process: subprocess.Popen[bytes]

    def ssh_tunnel(self, **extra: object) -> dict[str, object]:
        settings: dict[str, object] = {
            "host": self.host,
            "port": str(self.port),
            "username": self.username,
            "private_key": self.private_key,
            "platform": "linux",
            "host_public_key": self.host_public_key,
        }
        settings.update(extra)
        return settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path, kind: str = "ed25519") -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)


def start_sshd(folder: Path) -> Sshd:
    binary = next((p for p in SSHD_PATHS if os.access(p, os.X_OK)), None)
    if binary is None or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH server not installed (apt-get install openssh-server)")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _keygen(folder / "host_key")
    _keygen(folder / "user_key")
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n"
        "Subsystem sftp internal-sftp\nMaxSessions 64\nMaxStartups 64\nLogLevel ERROR\n"
    )
    os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    _wait_for_port(port, process)
    host_key = " ".join((folder / "host_key.pub").read_text().split()[:2])
    return Sshd("127.0.0.1", port, getpass.getuser(), (folder / "user_key").read_text(), host_key, process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"sshd exited with {process.returncode} (cannot run an SSH server here)")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # waiting for a real server to listen; not library code
    process.kill()
    pytest.skip("sshd did not start listening")


def stop_sshd(server: Sshd) -> None:
    server.process.terminate()
    server.process.wait(10)

