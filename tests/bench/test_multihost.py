"""Benchmark 7 (``make bench``): one VMware host versus two, and how the report shows it.

The first test runs the benchmark with no host costs and two VMs (nothing is
judged on time): each round's requests reached the hosts their contexts named,
as each simulator's own call log shows. The others render figures given to them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks import multihost
from benchmarks.hostcosts import NO_COSTS
from benchmarks.multihost import HostsResult
from benchmarks.report import HOSTS_HEADING, hosts_section
from vmtk_sim import SimHost


@pytest.mark.real_process
def test_one_host_gets_every_vm_then_two_hosts_get_half_each(tmp_path: Path) -> None:
    result = multihost.measure(tmp_path, NO_COSTS, runs=1, total=2)
    if result.missing:
        pytest.skip(result.missing)
    assert len(result.one_host) == len(result.two_hosts) == 1
    clones = [Counter(c["argv"][2] for c in SimHost(tmp_path / f"host-{i}" / "space" / "sim").calls()) for i in (0, 1)]
    assert clones[0]["clone"] == 2 + 1 and clones[1]["clone"] == 1  # 2 VMs on host 0, then 1 on each
    assert clones[0]["deleteVM"] == 3 and clones[1]["deleteVM"] == 1  # every VM deleted between rounds


def test_the_report_gives_vms_per_minute_for_one_host_and_two() -> None:
    section = "\n".join(hosts_section(HostsResult(8, [24.0, 20.0, 30.0], [12.0, 16.0, 15.0])))
    assert section.startswith(HOSTS_HEADING)
    assert "| 1 | 8 | 24.00 | 20.0 | 1.0x |" in section
    assert "| 2 | 4 + 4 | 15.00 | 32.0 | 1.60x |" in section
    assert "two hosts create more VMs per minute than one: met" in section


def test_two_hosts_no_faster_is_not_met_and_no_server_is_not_measured() -> None:
    assert "**not met**" in "\n".join(hosts_section(HostsResult(8, [10.0], [12.0])))
    missing = "\n".join(hosts_section(HostsResult(8, [], [], "not measured: no OpenSSH server (x)")))
    assert "not measured: no OpenSSH server" in missing and "VMs per minute |" not in missing
