"""16 CPI processes at once on one stemcell, twice over: every call succeeds and no update is lost.

Each worker drives its own VM through real ``bosh-vmrun-cpi`` processes
against ``vmrun-sim``: create_vm, two create_disk, attach, set_vm_metadata,
detach, attach the other disk, attach the first again on odd workers, and
delete_vm on every fourth. The workers share the stemcell (clones serialize on
its lock), the MAC pool (the store's ``macs`` lock) and the simulator's state.
Afterwards every .vmx, ``env.json``, disk record and ``metadata.json`` must say
exactly what that worker's calls did.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.cpi.conftest import MANUAL
from tests.reliability.leaks import attached_disks, inconsistencies, leaks, vm_dirs
from tests.reliability.procs import Site
from toolkit.vmware import devices
from toolkit.vmware.vmx import Vmx
from vmtk_sim import SimHost

pytestmark = [pytest.mark.slow, pytest.mark.real_process, pytest.mark.timeout(900)]

WORKERS = 16
ROUNDS = 2
STEMCELL = "5a5a5a5a-0000-4000-8000-0000000016aa"


class Worker:
    """One VM's life as one Director thread would drive it; remembers what it asked for."""

    def __init__(self, site: Site, n: int) -> None:
        self.site, self.n = site, n
        self.failures: list[str] = []
        self.vm = ""
        self.attached: list[str] = []
        self.deleted = False
        self.networks: dict[str, Any] = {}
        self.disks: list[str] = []

    def call(self, method: str, *args: Any) -> Any:
        response = self.site.call(method, *args)
        if response["error"] is not None:
            self.failures.append(f"worker {self.n} {method}: {response['error']['message'][:400]}")
        return response["result"]

    def run(self) -> Worker:
        self.vm, self.networks = self.call("create_vm", f"agent-{self.n}", STEMCELL, {"disk": 64}, MANUAL, [], {}) or (
            "",
            {},
        )
        first, second = self.call("create_disk", 64, {}, self.vm), self.call("create_disk", 64, {}, self.vm)
        self.disks = [first, second]
        self.call("attach_disk", self.vm, first)
        self.call("set_vm_metadata", self.vm, {"job": f"job-{self.n}", "index": str(self.n)})
        self.call("detach_disk", self.vm, first)
        self.call("attach_disk", self.vm, second)
        self.attached = [second]
        if self.n % 2:
            self.call("attach_disk", self.vm, first)
            self.attached = [second, first]
        if self.n % 4 == 0:
            self.call("delete_vm", self.vm)
            self.deleted = True
        return self


def run_workers(root: Path) -> tuple[Site, list[Worker]]:
    site = Site.make(root, latency=0.0, lock_timeout=300)
    site.stemcell(STEMCELL)
    workers: list[Worker] = []
    for round_ in range(ROUNDS):
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            workers += pool.map(lambda n: Worker(site, n).run(), range(round_ * WORKERS, (round_ + 1) * WORKERS))
    return site, workers


# One test, so that pytest-xdist never runs the workers twice (module fixtures are per worker).
def test_sixteen_parallel_cpi_processes_lose_no_update(tmp_path: Path) -> None:
    outcome = run_workers(tmp_path)
    every_call_succeeds(outcome)
    each_vmx_and_its_settings_hold_exactly_that_workers_disks(outcome)
    deleted_vms_are_gone_and_their_disks_kept(outcome)
    every_vm_got_its_own_mac_and_runs(outcome)
    nothing_is_left_that_no_cid_owns(outcome)


def every_call_succeeds(outcome: tuple[Site, list[Worker]]) -> None:
    _, workers = outcome
    assert len(workers) == WORKERS * ROUNDS
    assert [f for w in workers for f in w.failures] == []


def each_vmx_and_its_settings_hold_exactly_that_workers_disks(outcome: tuple[Site, list[Worker]]) -> None:
    site, workers = outcome
    for w in (w for w in workers if not w.deleted):
        vmx = site.store / f"vm-{w.vm}" / f"vm-{w.vm}.vmx"
        assert sorted(attached_disks(vmx)) == sorted(w.attached), w.n
        settings = json.loads((site.store / f"vm-{w.vm}" / "env.json").read_bytes())
        assert sorted(settings["disks"]["persistent"]) == sorted(w.attached), w.n
        assert settings["agent_id"] == f"agent-{w.n}"
        metadata = json.loads((site.store / f"vm-{w.vm}" / "metadata.json").read_bytes())
        assert metadata == {"job": f"job-{w.n}", "index": str(w.n)}
        for disk in w.disks:
            record = json.loads((site.store / "disks" / f"disk-{disk}.json").read_bytes())
            assert record["vm"] == (w.vm if disk in w.attached else None), (w.n, disk, record)


def deleted_vms_are_gone_and_their_disks_kept(outcome: tuple[Site, list[Worker]]) -> None:
    site, workers = outcome
    alive = {d.name[3:] for d in vm_dirs(site.store)}
    assert alive == {w.vm for w in workers if not w.deleted}
    for w in (w for w in workers if w.deleted):
        assert all((site.store / "disks" / f"disk-{d}.vmdk").exists() for d in w.disks)


def every_vm_got_its_own_mac_and_runs(outcome: tuple[Site, list[Worker]]) -> None:
    site, workers = outcome
    macs = [w.networks["default"]["mac"] for w in workers]
    assert len(set(macs)) == len(macs)
    for w in (w for w in workers if not w.deleted):
        vmx = Vmx.parse((site.store / f"vm-{w.vm}" / f"vm-{w.vm}.vmx").read_bytes())
        assert (devices.nics(vmx)[0].mac or "").lower() == w.networks["default"]["mac"]
    assert inconsistencies(site.store, SimHost(site.home)) == []


def nothing_is_left_that_no_cid_owns(outcome: tuple[Site, list[Worker]]) -> None:
    site, _ = outcome
    assert leaks(site.store, SimHost(site.home)) == []
    assert Path(site.store / ".locks").is_dir()
