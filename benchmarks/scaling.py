"""Benchmark 4: N concurrent ``create_vm`` from one stemcell, N in 1, 4, 8, 16.

All N requests are separate ``bosh-vmrun-cpi`` processes started together (as a
director's parallel deploy does) against one simulated host with the cost
model; what VMware serializes (clones of one template) serializes, the rest
overlaps. Reports total and per-VM wall time, median over runs. VMs are
deleted between runs, untimed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from benchmarks.sequence import ENV, NETWORKS, VM_PROPERTIES
from benchmarks.timing import median, seconds
from benchmarks.workspace import Workspace

LEVELS = (1, 4, 8, 16)


@dataclass(frozen=True, slots=True)
class Level:
    vms: int
    total: float

    @property
    def per_vm(self) -> float:
        return self.total / self.vms


def _create_all(space: Workspace, stemcell: str, count: int) -> list[str]:
    def create(index: int) -> str:
        return str(
            space.call(
                "create_vm",
                f"agent-{index}",
                stemcell,
                VM_PROPERTIES,
                NETWORKS,
                [],
                ENV,
            )[0]
        )

    with ThreadPoolExecutor(max_workers=count) as pool:  # threads only wait on the CPI processes
        return list(pool.map(create, range(count)))


def _delete_all(space: Workspace, vms: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=len(vms)) as pool:
        list(pool.map(lambda vm: space.call("delete_vm", vm), vms))


def _timed_round(space: Workspace, stemcell: str, count: int) -> float:
    """Seconds for ``count`` concurrent create_vm; the VMs are then deleted, untimed."""
    made: list[str] = []
    took = seconds(lambda: made.extend(_create_all(space, stemcell, count)))
    _delete_all(space, made)
    return took


def measure(space: Workspace, runs: int, levels: tuple[int, ...] = LEVELS) -> list[Level]:
    stemcell = space.make_template()
    return [Level(count, median([_timed_round(space, stemcell, count) for _ in range(runs)])) for count in levels]
