"""A "remote" VMware host over real SSH: an observed OpenSSH server, vmrun-sim behind it, the CPI executable.

The sshd is the shared test server (``tests.support.sshd``) restarted from a copy
of its config that logs at VERBOSE to a file, with SFTP served by
``sftp-server -e -l INFO`` whose log lines ("close ... bytes read N written M")
go to a second file: connections and uploaded bytes are counted on the server's
side, not by the code under test. sshd sessions do not inherit the test's
environment, so the host's ``vmrun`` is a generated wrapper that sets
``VMRUN_SIM_HOME`` and execs ``vmrun-sim``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.sshd import Sshd, _free_port, _wait_for_port, start_sshd, stop_sshd
from vmtk_sim import SimHost

BIN = Path(sys.executable).parent
EXECUTABLE = BIN / "bosh-vmrun-cpi"
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
MBUS_SECRET = "mbus-Secret-5e7b"
_WRITTEN = re.compile(r"close \"(?P<path>[^\"]+)\" bytes read \d+ written (?P<n>\d+)")


@dataclass(frozen=True)
class ObservedSshd:
    """The test sshd plus what it logged."""

    server: Sshd
    log: Path
    sftp_log: Path

    def accepted(self) -> int:
        """Connections authenticated so far ("Accepted publickey for ...")."""
        return self._text(self.log).count("Accepted publickey for ")

    def written(self, under: str = "/") -> int:
        """Bytes written over SFTP to files under ``under`` (as sftp-server logged at close)."""
        return sum(int(m["n"]) for m in _WRITTEN.finditer(self._text(self.sftp_log)) if m["path"].startswith(under))

    def drop_connections(self) -> int:
        """Kill every per-connection sshd process (the listener stays): connections drop mid-call."""
        children = subprocess.run(["pgrep", "-P", str(self.server.process.pid)], capture_output=True, text=True)
        pids = [int(p) for p in children.stdout.split()]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return len(pids)

    @staticmethod
    def _text(path: Path) -> str:
        return path.read_text(errors="replace") if path.exists() else ""


def _observed_sshd(folder: Path) -> ObservedSshd:
    plain = start_sshd(folder / "keys")
    stop_sshd(plain)  # keys and config made; now restart it observed
    sftp_log = folder / "sftp.log"
    wrapper = folder / "sftp-logged"
    wrapper.write_text(f"#!/bin/sh\nexec {SFTP_SERVER} -e -l INFO 2>>{sftp_log}\n")
    wrapper.chmod(0o755)
    port = _free_port()
    config = (folder / "keys" / "sshd_config").read_text()
    config = config.replace(f"Port {plain.port}", f"Port {port}").replace("LogLevel ERROR", "LogLevel VERBOSE")
    config = config.replace("Subsystem sftp internal-sftp", f"Subsystem sftp {wrapper}")
    (folder / "sshd_config").write_text(config)
    log = folder / "sshd.log"
    process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-E", str(log), "-f", str(folder / "sshd_config")])
    _wait_for_port(port, process)
    return ObservedSshd(dataclasses.replace(plain, port=port, process=process), log, sftp_log)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedSshd]:
    if not SFTP_SERVER.exists():
        pytest.skip("OpenSSH sftp-server not installed")
    observed = _observed_sshd(tmp_path_factory.mktemp("sshd"))
    yield observed
    stop_sshd(observed.server)


@dataclass
class RemoteCpi:
    """``bosh-vmrun-cpi`` processes whose VMware host is vmrun-sim behind the sshd."""

    sshd: ObservedSshd
    folder: Path
    tunnel: dict[str, Any]
    vmrun: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.folder / "sim"

    @property
    def store(self) -> Path:
        return self.folder / "store"

    @property
    def host(self) -> SimHost:
        return SimHost(self.home)

    def config_path(self) -> Path:
        path = self.folder / "cpi.json"
        path.write_text(
            json.dumps(
                {
                    "cloud": {
                        "properties": {
                            "agent": {"mbus": f"https://mbus:{MBUS_SECRET}@0.0.0.0:6868"},
                            "vmrun": {
                                "vm_store_path": str(self.store),
                                "vmrun_bin_path": str(self.folder / "vmrun"),
                                "vm_soft_shutdown_max_wait_seconds": 5,
                                "ssh_tunnel": self.tunnel,
                                **self.vmrun,
                            },
                        }
                    }
                }
            )
        )
        path.chmod(0o600)
        return path

    def start(self, method: str, *arguments: Any, tmpdir: Path | None = None) -> subprocess.Popen[bytes]:
        """The CPI running one call; with ``tmpdir``, its temp files go there (TMPDIR)."""
        body = {
            "method": method,
            "arguments": list(arguments),
            "api_version": 2,
            "context": {"director_uuid": "d-1", "request_id": "cpi-424242"},
        }
        request = self.folder / "request.json"
        request.write_text(json.dumps(body))
        env = _clean_env()
        if tmpdir is not None:
            tmpdir.mkdir(parents=True, exist_ok=True)
            env["TMPDIR"] = str(tmpdir)
        with request.open("rb") as stdin:
            return subprocess.Popen(
                [str(EXECUTABLE), str(self.config_path())],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )

    def finish(self, process: subprocess.Popen[bytes]) -> tuple[dict[str, Any], str]:
        """The one JSON response (exit 0 always) and the CPI's stderr log."""
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err.decode()
        lines = out.decode().splitlines()
        assert len(lines) == 1, out
        response = json.loads(lines[0])
        assert set(response) == {"result", "error", "log"} and isinstance(response["log"], str)
        return response, err.decode()

    def raw(self, method: str, *arguments: Any) -> tuple[dict[str, Any], str]:
        return self.finish(self.start(method, *arguments))

    def __call__(self, method: str, *arguments: Any) -> Any:
        response, stderr = self.raw(method, *arguments)
        assert response["error"] is None, (response["error"], stderr[-3000:])
        return response["result"]

    def error(self, method: str, *arguments: Any) -> dict[str, Any]:
        response, _ = self.raw(method, *arguments)
        assert response["error"] is not None and response["result"] is None, response
        return response["error"]

    def vmx(self, cid: str) -> Path:
        return self.store / f"vm-{cid}" / f"vm-{cid}.vmx"

    def running(self) -> list[str]:
        """The simulator's view: .vmx paths of the VMs running on the "remote" host."""
        done = subprocess.run([str(self.folder / "vmrun"), "list"], capture_output=True, text=True, check=True)
        return done.stdout.splitlines()[1:]


def _clean_env() -> dict[str, str]:
    # The CPI must reach the simulator only through SSH: no VMRUN_SIM_HOME of its own.
    return {k: v for k, v in os.environ.items() if k != "VMRUN_SIM_HOME"}


def make_remote(sshd: ObservedSshd, folder: Path, **tunnel: Any) -> RemoteCpi:
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "vmrun"
    wrapper.write_text(f'#!/bin/sh\nVMRUN_SIM_HOME={folder / "sim"} exec {BIN / "vmrun-sim"} "$@"\n')
    wrapper.chmod(0o755)
    SimHost(folder / "sim").configure(boot_delay=0)
    return RemoteCpi(sshd, folder, sshd.server.ssh_tunnel(**tunnel))


@pytest.fixture
def remote(sshd: ObservedSshd, tmp_path: Path) -> RemoteCpi:
    if not EXECUTABLE.exists():
        pytest.skip("bosh-vmrun-cpi is not installed in this environment")
    return make_remote(sshd, tmp_path / "remote")
