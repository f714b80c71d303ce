"""Real ``bosh-vmrun-cpi`` processes against ``vmrun-sim``: a store, its config, and calls that can be killed.

Shared by the crash loop and the parallel run. Each CPI process gets its own
session so a kill reaches the vmrun-sim it was running too (the whole job dies,
as when the Director's host goes down). Nothing here asserts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cpi.conftest import STEMCELL_CDROM, Cpi, make_config
from toolkit.host.clock import SystemClock
from vmtk_sim import SimHost

BIN = Path(sys.executable).parent
LOCK_TIMEOUT = 20


@dataclass
class Site:
    """A simulated host, a CPI store on it, and the config file the executable reads."""

    home: Path
    store: Path
    config: Path

    @classmethod
    def make(cls, root: Path, *, latency: float, lock_timeout: float = LOCK_TIMEOUT) -> Site:
        home, store, config = root / "sim", root / "store", root / "cpi.json"
        SimHost(home).configure(boot_delay=0, latency={"default": latency})
        config.write_text(
            json.dumps(
                {
                    "cloud": {
                        "properties": {
                            "agent": {"mbus": "https://mbus:mbus-pw@0.0.0.0:6868"},
                            "vmrun": {
                                "vm_store_path": str(store),
                                "vmrun_bin_path": str(BIN / "vmrun-sim"),
                                "vm_soft_shutdown_max_wait_seconds": 10,
                                "lock_timeout_seconds": lock_timeout,
                            },
                        }
                    }
                }
            )
        )
        return cls(home, store, config)

    def stemcell(self, cid: str) -> str:
        vmx = SimHost(self.home).make_vm(str(self.store / f"cs-{cid}" / f"cs-{cid}.vmx"))
        with open(vmx, "a", encoding="utf-8") as handle:
            handle.write(STEMCELL_CDROM)
        return cid

    def in_process(self) -> Cpi:
        """The same store and host driven in-process (real clock): for set-up and recovery calls."""
        clock = SystemClock()
        config = make_config(self.store, lock_timeout_seconds=LOCK_TIMEOUT, vm_soft_shutdown_max_wait_seconds=10)
        return Cpi(SimHost(self.home, clock=clock), clock, self.store, config)  # type: ignore[arg-type]

    def start(self, method: str, *arguments: Any, debug: bool = False) -> subprocess.Popen[bytes]:
        """The call in its own session; with ``debug``, its DEBUG log on a pipe (``proc.stderr``)."""
        request = {"method": method, "arguments": list(arguments), "context": {"director_uuid": "d"}, "api_version": 2}
        proc = subprocess.Popen(
            [str(BIN / "bosh-vmrun-cpi"), str(self.config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if debug else subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "VMRUN_SIM_HOME": str(self.home), "BOSH_LOG_LEVEL": "debug" if debug else "warn"},
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request).encode())
        proc.stdin.close()
        return proc

    def call(self, method: str, *arguments: Any) -> dict[str, Any]:
        """One CPI call run to completion: its response."""
        proc = self.start(method, *arguments)
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read()
        proc.wait(timeout=300)
        return json.loads(out)


def kill_after(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """SIGKILL the call's whole session after ``seconds``; ``True`` if it was still running."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
