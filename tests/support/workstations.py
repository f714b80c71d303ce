"""Simulated VMware workstations behind their own SSH servers, and a director that drives them through one CPI.

Each ``Workstation`` is a throwaway OpenSSH server on 127.0.0.1
(``tests.support.sshd``) with its own ``vmrun-sim`` home and VM store; its
``vmrun`` is a wrapper that runs vmrun-sim on that home (sshd sessions do not
inherit the test's environment). ``properties`` is its entry in a cpi-config.
Its server can be stopped and started again on the same port and keys, as a
workstation that goes down and comes back. With ``store_at`` the server runs in
a mount namespace of its own where the store is seen at that path, so several
hosts can share one ``vm_store_path`` and still have separate stores.

``Director`` runs the ``bosh-vmrun-cpi`` executable as the BOSH director runs
``bin/cpi``: one process per request, in the director's bare environment
(``PATH=/usr/sbin:/usr/bin:/sbin:/bin`` and ``TMPDIR``, nothing else: no HOME,
no USER, no locale), the request's ``context`` made of ``director_uuid``,
``request_id``, ``vm.stemcell.api_version`` and the cpi-config entry's
properties merged in at the top level (bosh-director ``external_cpi.rb``). The
config file is the job's rendered config with no host of its own worth using:
every request must say which workstation it is for. This module starts servers
and processes; it asserts only what every response must be (exit 0, one JSON
object on stdout).
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cpi.client import STEMCELL_CDROM
from tests.support.sshd import Sshd, _wait_for_port, start_sshd, stop_sshd
from tests.support.sshsim import vmrun_wrapper
from vmtk_sim import SimHost

BIN = Path(sys.executable).parent
EXECUTABLE = BIN / "bosh-vmrun-cpi"
DIRECTOR_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # what external_cpi.rb gives bin/cpi, with unsetenv_others
MBUS_SECRET = "mbus-Secret-77c4"
TIMEOUT = 120.0
OWN_MOUNTS = ["unshare", "--mount", "--propagation", "private"]  # a mount namespace of its own


@dataclass
class Workstation:
    """One simulated VMware host reached only through its own SSH server."""

    name: str
    folder: Path
    server: Sshd
    store_at: Path | None = None  # where the host sees its store, if not where it is (a mount namespace)

    @property
    def home(self) -> Path:
        return self.folder / "sim"

    @property
    def store(self) -> Path:
        return self.folder / "store"

    @property
    def vmrun(self) -> Path:
        return self.folder / "bin" / "vmrun"

    @property
    def sim(self) -> SimHost:
        return SimHost(self.home)

    def properties(self, **vmrun: Any) -> dict[str, Any]:
        """This host's entry in a cpi-config: ``properties`` as the director merges them into the context."""
        return {
            "vmrun": {
                "vm_store_path": str(self.store_at or self.store),
                "vmrun_bin_path": str(self.vmrun),
                "ssh_tunnel": self.server.ssh_tunnel(),
                **vmrun,
            }
        }

    def make_stemcell(self) -> str:
        """A stemcell as create_stemcell leaves it, made directly on this host; its CID."""
        cid = str(uuid.uuid4())
        vmx = self.sim.make_vm(str(self.store / f"cs-{cid}" / f"cs-{cid}.vmx"))
        with open(vmx, "a", encoding="utf-8") as handle:
            handle.write(STEMCELL_CDROM)
        return cid

    def vm_names(self) -> list[str]:
        """The VM directories in this host's store."""
        return sorted(p.name for p in self.store.glob("vm-*")) if self.store.exists() else []

    def running(self) -> list[str]:
        """The simulator's own view: .vmx paths of this host's running VMs (``vmrun list`` on it)."""
        done = subprocess.run([str(self.vmrun), "list"], capture_output=True, text=True, check=True)
        return done.stdout.splitlines()[1:]

    def stop(self) -> None:
        """The workstation's SSH server goes away (connections refused)."""
        stop_sshd(self.server)

    def start(self) -> None:
        """Its SSH server back, on the same port with the same keys (and in its own mount namespace, if it had one)."""
        config = str(self.folder / "sshd" / "sshd_config")
        command = ["/usr/sbin/sshd", "-D", "-e", "-f", config]
        if self.store_at is not None:  # the server and every session it starts see the store at store_at
            script = 'mount --bind "$1" "$2" && exec /usr/sbin/sshd -D -e -f "$3"'
            command = [*OWN_MOUNTS, "sh", "-c", script, "sh", str(self.store), str(self.store_at), config]
        process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        _wait_for_port(self.server.port, process)
        self.server = dataclasses.replace(self.server, process=process)


def start_workstation(folder: Path, name: str, *, store_at: Path | None = None) -> Workstation:
    """A fresh simulated host: its SSH server running, Tools up the moment a VM starts.

    With ``store_at`` the server runs in a mount namespace of its own where the
    host's store is seen at that path (an empty directory outside): several such
    hosts have the same ``vm_store_path`` and different stores, as separate machines do.
    """
    server = start_sshd(folder / "sshd")
    station = Workstation(name, folder, server, store_at)
    station.sim.configure(boot_delay=0)
    vmrun_wrapper(station.vmrun.parent, station.home)
    station.store.mkdir(parents=True, exist_ok=True)
    if store_at is not None:
        station.stop()
        station.start()
    return station


def own_mounts_allowed() -> bool:
    """Whether this machine lets a process have a mount namespace of its own (root, ``unshare``)."""
    unshare = shutil.which("unshare")
    return bool(unshare) and subprocess.run([*OWN_MOUNTS, "true"], capture_output=True, check=False).returncode == 0


@contextmanager
def workstations(folder: Path, *names: str, store_at: Path | None = None) -> Iterator[dict[str, Workstation]]:
    """Fresh workstations by name, each in its own folder; every SSH server still running is stopped at the end."""
    started: dict[str, Workstation] = {}
    try:
        for name in names:
            started[name] = start_workstation(folder / name, name, store_at=store_at)
        yield started
    finally:
        for station in started.values():
            if station.server.process.poll() is None:
                station.stop()


def rendered_config(folder: Path, **vmrun: Any) -> Path:
    """The job's rendered config: the agent settings and, unless ``vmrun`` says otherwise, a host never to be used."""
    path = folder / "cpi.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "cloud": {
                    "plugin": "vmrun",
                    "properties": {
                        "agent": {"mbus": f"https://mbus:{MBUS_SECRET}@0.0.0.0:6868", "ntp": ["0.pool.ntp.org"]},
                        "vmrun": {
                            "vm_store_path": str(folder / "unused-store"),
                            "vmrun_bin_path": "/nonexistent/vmrun",
                            "vm_soft_shutdown_max_wait_seconds": 5,
                            "ssh_tunnel": {"host": "", "port": "22"},
                            **vmrun,
                        },
                    },
                }
            }
        )
    )
    path.chmod(0o600)  # it may hold a private key
    return path


@dataclass
class Director:
    """Sends requests to ``bosh-vmrun-cpi CONFIG`` as the director does, for one cpi-config entry each.

    ``command``, when given, is what runs instead (and then it alone sets the CPI's environment).
    """

    config: Path
    tmpdir: Path
    cpis: Mapping[str, Mapping[str, Any]]  # cpi-config entry name -> its properties
    director_uuid: str = "director-6c3e"
    logs: list[str] = field(default_factory=list)
    command: list[str] | None = None

    def body(self, cpi: str, method: str, *arguments: Any) -> bytes:
        context = {
            "director_uuid": self.director_uuid,
            "request_id": f"cpi-{random.randint(100000, 999999)}",
            **self.cpis[cpi],
            "vm": {"stemcell": {"api_version": 2}},
        }
        return json.dumps(
            {"method": method, "arguments": list(arguments), "context": context, "api_version": 2}
        ).encode()

    def env(self) -> dict[str, str]:
        return {"PATH": DIRECTOR_PATH, "TMPDIR": str(self.tmpdir)}

    def start(self, cpi: str, method: str, *arguments: Any) -> Call:
        """The request's process, started; the body is read from a file, as a whole, like the director's pipe."""
        with tempfile.TemporaryFile() as body:
            body.write(self.body(cpi, method, *arguments))
            body.seek(0)
            command = self.command or [str(EXECUTABLE), str(self.config)]
            process = subprocess.Popen(
                command, stdin=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env()
            )
        return Call(self, process)

    def raw(self, cpi: str, method: str, *arguments: Any) -> dict[str, Any]:
        return self.start(cpi, method, *arguments).response()

    def __call__(self, cpi: str, method: str, *arguments: Any) -> Any:
        response = self.raw(cpi, method, *arguments)
        assert response["error"] is None, (cpi, method, response["error"], self.logs[-1][-3000:])
        return response["result"]

    def error(self, cpi: str, method: str, *arguments: Any) -> dict[str, Any]:
        response = self.raw(cpi, method, *arguments)
        assert response["error"] is not None and response["result"] is None, response
        return dict(response["error"])


@dataclass
class Call:
    """One CPI process serving one request; ``response`` waits for it."""

    director: Director
    process: subprocess.Popen[bytes]

    def response(self) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=TIMEOUT)
        stderr = err.decode("utf-8", "replace")
        self.director.logs += [stderr, out.decode("utf-8", "replace")]
        assert self.process.returncode == 0, stderr[-3000:]
        line, newline, rest = out.partition(b"\n")
        assert newline and not rest, out[:2000]
        response = json.loads(line)
        assert set(response) == {"result", "error", "log"} and isinstance(response["log"], str), response
        return dict(response)
