"""A real OpenSSH server on 127.0.0.1 with generated host and user keys, for ``make bench`` and the tests.

``start_sshd`` generates the keys and config in a folder and starts ``sshd -D``
on a free port; with ``log`` it logs at VERBOSE to that file, so connections are
counted on the server's side (``accepted``), not by the code under test. When no
OpenSSH server is installed or it cannot run here, it raises
``NoSshServerError`` (the tests turn that into a skip, the benchmark into "not
measured"). This module starts and stops a server; it never times anything.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.errors import NoSshServerError
from toolkit.errors import WaitTimeout
from toolkit.host.clock import SystemClock, wait_until

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
LISTEN_TIMEOUT = 15.0


@dataclass(frozen=True)
class Sshd:
    host: str
    port: int
    username: str
    private_key: str
    host_public_key: str
    process: subprocess.Popen[bytes]
    log: Path | None = None

    def ssh_tunnel(self, **extra: object) -> dict[str, object]:
        """The CPI's ``vmrun.ssh_tunnel`` settings for this server (host key pinned)."""
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

    def accepted(self) -> int:
        """Connections authenticated so far, as sshd logged them ("Accepted publickey for ...")."""
        if self.log is None or not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count("Accepted publickey for ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path, kind: str = "ed25519") -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)


def sshd_binary() -> str:
    """The installed sshd, or ``NoSshServerError``."""
    binary = next((p for p in SSHD_PATHS if os.access(p, os.X_OK)), None)
    if binary is None or shutil.which("ssh-keygen") is None:
        raise NoSshServerError("OpenSSH server not installed (apt-get install openssh-server)")
    return binary


def _config(folder: Path, port: int, verbose: bool) -> Path:
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n"
        "Subsystem sftp internal-sftp\nMaxSessions 64\nMaxStartups 64\n"
        f"LogLevel {'VERBOSE' if verbose else 'ERROR'}\n"
    )
    return config


def start_sshd(folder: Path, *, log: Path | None = None) -> Sshd:
    """Keys, config and a listening sshd in ``folder``; with ``log``, a VERBOSE log there."""
    binary = sshd_binary()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _keygen(folder / "host_key")
    _keygen(folder / "user_key")
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    port = _free_port()
    config = _config(folder, port, verbose=log is not None)
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
    output = ["-E", str(log)] if log is not None else ["-e"]
    process = subprocess.Popen([binary, "-D", *output, "-f", str(config)], stderr=subprocess.DEVNULL)
    _wait_for_port(port, process)
    host_key = " ".join((folder / "host_key.pub").read_text().split()[:2])
    user_key = (folder / "user_key").read_text()
    return Sshd("127.0.0.1", port, getpass.getuser(), user_key, host_key, process, log)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until ``port`` accepts connections; ``NoSshServerError`` if sshd exits or never listens."""

    def listening() -> bool:
        if process.poll() is not None:
            raise NoSshServerError(f"sshd exited with {process.returncode} (cannot run an SSH server here)")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_until(listening, what=f"sshd on port {port}", timeout=LISTEN_TIMEOUT, clock=SystemClock(), interval=0.05)
    except WaitTimeout as exc:
        process.kill()
        raise NoSshServerError("sshd did not start listening") from exc


def stop_sshd(server: Sshd) -> None:
    server.process.terminate()
    server.process.wait(10)
