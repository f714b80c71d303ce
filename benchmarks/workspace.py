"""A throwaway simulated VMware host for one benchmark run: sim home, CPI store and config.

``call`` runs the real ``bosh-vmrun-cpi`` executable as the bosh CLI does (one
process per request, JSON on stdin, ``vmrun-sim`` as vmrun) and ``runs`` counts
the simulator's ``calls.jsonl``. With an ``ssh_tunnel`` the CPI reaches the same
kind of simulated host through an SSH server on this machine: sshd sessions do
not inherit our environment, so the host's vmrun is a wrapper script that sets
``VMRUN_SIM_HOME`` and execs ``vmrun-sim``. ``stemcell_image`` packs the VMware-written
reference OVF and streamOptimized VMDK as a stemcell ``image``. This module
builds and calls; it never times anything.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.errors import BenchmarkError
from benchmarks.hostcosts import HostCosts
from toolkit.vmware.vmx import Vmx
from vmtk_harness import cpiprocess
from vmtk_sim import SimHost

BIN = Path(sys.executable).parent
CPI = BIN / "bosh-vmrun-cpi"
VMRUN_SIM = BIN / "vmrun-sim"
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
MBUS = "https://mbus:bench-mbus-password@0.0.0.0:6868"
CALL_TIMEOUT = 900.0
# What the stemcell builder leaves in the template: an empty SATA CD-ROM, off at power-on.
TEMPLATE_CDROM = {
    "sata0.present": "TRUE",
    "sata0:0.present": "TRUE",
    "sata0:0.deviceType": "atapi-cdrom",
    "sata0:0.fileName": "auto detect",
    "sata0:0.startConnected": "FALSE",
}


def cpi_config(store: Path, vmrun_bin: str, tunnel: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CPI config the job template renders: job-spec defaults, no ovftool (pure-Python import)."""
    return {
        "cloud": {
            "properties": {
                "agent": {"mbus": MBUS, "ntp": ["0.pool.ntp.org"]},
                "vmrun": {
                    "vm_store_path": str(store),
                    "vmrun_bin_path": vmrun_bin,
                    "vm_start_max_wait_seconds": 600,
                    "vm_soft_shutdown_max_wait_seconds": 30,
                    **({"ssh_tunnel": tunnel} if tunnel else {}),
                },
            }
        }
    }


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path
    sim_home: Path
    store: Path
    config: Path
    remote: bool = False  # the CPI reaches vmrun over SSH

    @classmethod
    def create(cls, root: Path, costs: HostCosts, tunnel: dict[str, Any] | None = None) -> Workspace:
        space = cls(root, sim_home=root / "sim", store=root / "store", config=root / "cpi.json", remote=bool(tunnel))
        space.store.mkdir(parents=True, exist_ok=True)
        vmrun = space.vmrun_wrapper() if tunnel else VMRUN_SIM
        space.config.write_text(json.dumps(cpi_config(space.store, str(vmrun), tunnel)))
        space.config.chmod(0o600)  # it may hold the SSH private key
        space.host().configure(**costs.sim_knobs())
        return space

    def vmrun_wrapper(self) -> Path:
        """The "remote" host's vmrun: vmrun-sim on this workspace's simulated host."""
        wrapper = self.root / "vmrun"
        home, sim = shlex.quote(str(self.sim_home)), shlex.quote(str(VMRUN_SIM))
        wrapper.write_text(f'#!/bin/sh\nVMRUN_SIM_HOME={home} exec {sim} "$@"\n')
        wrapper.chmod(0o755)
        return wrapper

    def host(self) -> SimHost:
        return SimHost(self.sim_home)

    def runs(self) -> int:
        return len(self.host().calls())

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "VMRUN_SIM_HOME": str(self.sim_home),
            "BOSH_LOG_LEVEL": "info",
        }
        if self.remote:  # the CPI must reach the simulator only through SSH
            del env["VMRUN_SIM_HOME"]
        return env

    def call(self, method: str, *arguments: Any, properties: dict[str, Any] | None = None) -> Any:
        """One CPI request through the executable; its result, or ``BenchmarkError``.

        ``properties``: a cpi-config entry's, merged into the context as the director merges them.
        """
        context = {"director_uuid": "bench", "request_id": f"cpi-{uuid.uuid4().hex[:6]}", **(properties or {})}
        body = cpiprocess.request(method, arguments, context)
        # Not through cpiprocess.run: each call needs its workspace's environment (the sim home,
        # or none with SSH), which a LocalRunner cannot pass, and calls run from threads at once.
        done = subprocess.run(
            [str(CPI), str(self.config)],
            input=body,
            env=self.env(),
            capture_output=True,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        return response_result(method, done.stdout, done.stderr)

    def make_template(self, cid: str | None = None) -> str:
        """A template VM as create_stemcell leaves it, made directly; its CID."""
        cid = cid or str(uuid.uuid4())
        path = Path(self.host().make_vm(str(self.store / f"cs-{cid}" / f"cs-{cid}.vmx")))
        vmx = Vmx.parse(path.read_bytes())
        for key, value in TEMPLATE_CDROM.items():
            vmx.set(key, value)
        path.write_bytes(vmx.dumps())
        return cid


def response_result(method: str, stdout: bytes, stderr: bytes = b"") -> Any:
    try:
        return cpiprocess.answer(method, stdout)[0]
    except ValueError:
        raise BenchmarkError(f"{method}: no JSON response; stderr: {stderr.decode()[-500:]}") from None
    except cpiprocess.CpiErrorResponse as exc:
        raise BenchmarkError(str(exc)) from None


def stemcell_image(path: Path) -> Path:
    """A stemcell ``image`` from the reference artefacts at ``path``, built once."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cpiprocess.reference_image(REFERENCE))
    return path
