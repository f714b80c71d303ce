"""The naive baseline: the Go reference CPI's external runs per call, replayed against the simulator.

``REFERENCE_RUNS`` are the counts of the observed traces (reference-cpi-inventory
Appendix D: ``ovftool -v`` and two ``vmrun list`` before every call, disks made
through an ovftool round trip, ``vmrun list`` polls around power changes).
``NaiveCpi`` replays those argv shapes, in that order, against the same
simulated host and cost model, with the reference's own waits: after ``start``
a ``list`` poll then 1 s of settling; a soft stop polled once a second for
``cleanShutdown``, hard after 30 s. The Go process itself is taken as free.
set_disk_metadata (NotImplemented, not traced) is replayed as nothing, in the
reference's favour. This module never runs our CPI.
"""

from __future__ import annotations

import importlib.util
import math
import uuid
from typing import Any

from benchmarks.hostcosts import HostCosts
from benchmarks.workspace import Workspace
from toolkit.errors import CommandTimeout
from toolkit.host.clock import Clock, SystemClock
from vmtk_sim import SimHost

REFERENCE_RUNS: dict[str, int | None] = {
    "info": 3,
    "create_stemcell": 4,
    "create_vm": 5,
    "set_vm_metadata": 5,
    "create_disk": 4,
    "attach_disk": 7,
    "set_disk_metadata": None,
    "has_vm": 3,
    "detach_disk": 7,
    "delete_vm": 7,
    "delete_disk": 3,
    "delete_stemcell": 6,
    "has_disk": 3,
    "calculate_vm_cloud_properties": 3,
}  # None: NotImplemented; has_disk/calculate_vm_cloud_properties panic after start-up
POLL_SECONDS = 1.0  # the reference's vmState and cleanShutdown poll interval, and its settle sleep
SOFT_STOP_WAIT = 30.0  # vm_soft_shutdown_max_wait_seconds, job-spec default
TIMEOUT = 600.0


def ovftool_simulated() -> bool:
    """Whether ``ovftool-sim`` can really import (its model may not have landed)."""
    return importlib.util.find_spec("vmtk_sim.ovftool_model") is not None


class NaiveCpi:
    """Answers CPI calls the way the reference does, one simulated program run at a time."""

    def __init__(self, space: Workspace, costs: HostCosts, *, clock: Clock | None = None) -> None:
        self.space, self.costs = space, costs
        self.clock = clock or SystemClock()
        self.host = SimHost(space.sim_home, clock=self.clock)
        self.runner = self.host.runner()
        self.runs = 0
        self.charged: set[str] = set()  # ovftool runs whose cost was slept here (no ovftool model)

    def call(self, method: str, *args: Any) -> Any:
        if method != "set_disk_metadata":
            self._startup()
        return getattr(self, "_" + method, lambda *_: None)(*args)

    def count(self) -> int:
        return self.runs

    # --- the CPI methods, as traced ------------------------------------------------------

    def _create_stemcell(self, image: str, _props: object) -> str:
        cid = self._ovftool_import(image)
        return cid

    def _create_vm(self, _agent: str, stemcell: str, *_rest: Any) -> str:
        cid = str(uuid.uuid4())
        self._vmrun(
            "clone",
            self._vmx("cs", stemcell),
            self._vmx("vm", cid),
            "linked",
            f"-cloneName=vm-{cid}",
        )
        self._makedisk(f"{self.space.store}/vm-{cid}/ephemeral-disk.vmdk", 1024)
        return cid

    def _set_vm_metadata(self, vm: str, _metadata: object) -> None:
        self._start(self._vmx("vm", vm))  # human-readable names: the VM is started here

    def _create_disk(self, size_mb: int, _props: object, _vm: object) -> str:
        cid = str(uuid.uuid4())
        self._makedisk(f"{self.space.store}/disk-{cid}.vmdk", size_mb)
        return cid

    def _attach_disk(self, vm: str, _disk: str) -> None:
        self._vmrun("list")
        self._soft_stop(self._vmx("vm", vm))
        self._start(self._vmx("vm", vm))

    _detach_disk = _attach_disk

    def _has_vm(self, vm: str) -> bool:
        return True

    def _delete_vm(self, vm: str) -> None:
        vmx = self._vmx("vm", vm)
        for argv in (("list",), ("stop", vmx, "hard"), ("list",), ("deleteVM", vmx)):
            self._vmrun(*argv)

    def _delete_disk(self, disk: str) -> None:
        self.runner.remove(f"{self.space.store}/disk-{disk}.vmdk")

    def _delete_stemcell(self, stemcell: str) -> None:
        for argv in (("list",), ("list",), ("deleteVM", self._vmx("cs", stemcell))):
            self._vmrun(*argv)

    # --- the reference's building blocks -------------------------------------------------

    def _startup(self) -> None:
        self._ovftool(["-v"], self.costs.ovftool_version)
        self._vmrun("list")
        self._vmrun("list")

    def _start(self, vmx: str) -> None:
        self._vmrun("start", vmx, "nogui")
        self._vmrun("list")  # vmState: the VM is listed at once
        self.clock.sleep(POLL_SECONDS)  # "sleeps 1 s more and returns"

    def _soft_stop(self, vmx: str) -> None:
        started = self.clock.monotonic()
        try:
            self._vmrun("stop", vmx, "soft", timeout=SOFT_STOP_WAIT)
        except CommandTimeout:  # no Tools yet: cleanShutdown never comes
            self._vmrun("stop", vmx, "hard")
            return
        elapsed = self.clock.monotonic() - started
        self.clock.sleep(math.ceil(elapsed / POLL_SECONDS) * POLL_SECONDS - elapsed)  # seen at the next poll

    def _makedisk(self, target: str, size_mb: int) -> None:
        from benchmarks.naive_ovftool import makedisk

        makedisk(self, target, size_mb)

    def _ovftool_import(self, image: str) -> str:
        from benchmarks.naive_ovftool import import_stemcell

        return import_stemcell(self, image)

    def _vmx(self, prefix: str, cid: str) -> str:
        return f"{self.space.store}/{prefix}-{cid}/{prefix}-{cid}.vmx"

    def _vmrun(self, *argv: str, timeout: float = TIMEOUT) -> None:
        self.runs += 1
        self.runner.run(["vmrun-sim", *argv], timeout=timeout)

    def _ovftool(self, argv: list[str], seconds: float) -> bool:
        """One ovftool run costing ``seconds``; ``False`` when only its cost could be simulated."""
        self.runs += 1
        if not ovftool_simulated():
            self.charged.add(argv[0] if argv[0] == "-v" else "import")
            self.clock.sleep(seconds)
            return False
        self.host.configure(latency={**self.costs.latency(), "ovftool": seconds})
        done = self.runner.run(["ovftool-sim", *argv], timeout=TIMEOUT)
        return done.exit_code == 0
