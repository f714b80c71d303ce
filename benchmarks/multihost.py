"""Benchmark 7: VMs created per minute on one VMware host versus two, the same number of VMs in total.

A director with a cpi-config of workstations names each request's host in its
context (``cpi.context``). Each host here is a simulated workstation with the
cost model behind its own OpenSSH server on 127.0.0.1 (``benchmarks.sshd``),
reached through ``ssh_tunnel`` as a director reaches one. ``TOTAL`` create_vm
requests, separate ``bosh-vmrun-cpi`` processes started together as a
director's parallel deploy starts them, go all to one host, then half to each
of two; the figure is TOTAL / wall seconds x 60, median over runs. What one
host serializes (clones of its stemcell, on the stemcell's lock) the second
host does at the same time; the simulator models no CPU or disk contention on
a host, and both "hosts" share this machine's cores. VMs are deleted between
runs, untimed. This module measures; ``report`` judges.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.errors import NoSshServerError
from benchmarks.hostcosts import HostCosts
from benchmarks.sequence import ENV, NETWORKS, VM_PROPERTIES
from benchmarks.sshd import start_sshd, stop_sshd
from benchmarks.timing import median, seconds
from benchmarks.workspace import Workspace

TOTAL = 8


@dataclass(frozen=True, slots=True)
class HostsResult:
    total: int
    one_host: list[float]  # wall seconds per run, every VM on one host
    two_hosts: list[float]  # the same number of VMs, half on each host
    missing: str = ""  # why nothing was measured

    @staticmethod
    def per_minute(runs: list[float], total: int) -> float:
        return total / median(runs) * 60


@dataclass(frozen=True, slots=True)
class Host:
    """One simulated workstation: its workspace, its stemcell, its cpi-config entry."""

    space: Workspace
    stemcell: str
    tunnel: dict[str, Any]

    def properties(self) -> dict[str, Any]:
        return {
            "vmrun": {
                "vm_store_path": str(self.space.store),
                "vmrun_bin_path": str(self.space.root / "vmrun"),
                "ssh_tunnel": self.tunnel,
            }
        }


def measure(root: Path, costs: HostCosts, runs: int, total: int = TOTAL) -> HostsResult:
    try:
        with _hosts(root, costs, 2) as hosts:
            one = [_timed_round(hosts[0], [hosts[0]] * total) for _ in range(runs)]
            spread = [hosts[i % 2] for i in range(total)]
            two = [_timed_round(hosts[0], spread) for _ in range(runs)]
    except NoSshServerError as exc:
        return HostsResult(total, [], [], f"not measured: no OpenSSH server ({exc})")
    return HostsResult(total, one, two)


@contextmanager
def _hosts(root: Path, costs: HostCosts, count: int) -> Iterator[list[Host]]:
    with ExitStack() as stack:
        hosts = []
        for index in range(count):
            server = start_sshd(root / f"host-{index}" / "sshd")
            stack.callback(stop_sshd, server)
            space = Workspace.create(root / f"host-{index}" / "space", costs, tunnel=server.ssh_tunnel())
            hosts.append(Host(space, space.make_template(), server.ssh_tunnel()))
        yield hosts


def _timed_round(director: Host, targets: list[Host]) -> float:
    """Seconds for one create_vm per target, all at once; the VMs are then deleted, untimed.

    Every request goes through the first host's config file, as a director has one
    rendered config: the context alone sends it to its host.
    """

    def create(host: Host) -> tuple[Host, str]:
        vm = director.space.call(
            "create_vm", "agent", host.stemcell, VM_PROPERTIES, NETWORKS, [], ENV, properties=host.properties()
        )
        return host, str(vm[0])

    made: list[tuple[Host, str]] = []
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:  # threads only wait on the CPI processes
        took = seconds(lambda: made.extend(pool.map(create, targets)))
        list(pool.map(lambda m: director.space.call("delete_vm", m[1], properties=m[0].properties()), made))
    return took
