"""Benchmark 6 (``make bench``): the CPI over SSH, counted on the server's side, and how the report shows it.

The first test drives the real ``bosh-vmrun-cpi`` through a real OpenSSH server
with no host costs (nothing is timed): every call that touches the host opens
exactly one connection, and the VMs are made on the simulated host behind the
server. The report tests render figures given to them.
"""

from __future__ import annotations

import stat
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import overssh
from benchmarks.hostcosts import NO_COSTS, REAL_HOST
from benchmarks.lifecycle import LifecycleResult
from benchmarks.overhead import Overhead
from benchmarks.primitives import Primitives
from benchmarks.report import Results, render
from benchmarks.scaling import Level
from benchmarks.sequence import CREATE_ENV, Step, runs_by_method
from benchmarks.workspace import stemcell_image
from cpi.power import TOOLS_POLL_MAX_SECONDS, TOOLS_POLL_SECONDS
from vmtk_sim import SimHost

pytestmark = pytest.mark.slow  # minutes of real processes: make test runs it, make test-fast does not

HOSTLESS_CALLS = ("info", "calculate_vm_cloud_properties")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stemcell_image(tmp_path_factory.mktemp("stemcell") / "image")


@pytest.mark.real_process
def test_each_call_over_ssh_opens_one_connection_and_drives_the_host_behind_the_server(
    tmp_path: Path, image: Path
) -> None:
    with overssh.remote(tmp_path / "sshd") as remote:
        if remote.server is None:
            pytest.skip(remote.missing)
        steps = overssh.run_over_ssh(tmp_path / "run", NO_COSTS, image, remote.server)
    assert [s.note for s in steps if s.note] == []
    connections = runs_by_method(steps)
    assert connections == {m: 0 if m in HOSTLESS_CALLS else 1 for m in connections}
    verbs = Counter(call["argv"][2] for call in SimHost(tmp_path / "run" / "sim").calls())  # after "-T ws"
    # Over SSH the uploaded image becomes the stemcell by a clone on the host, then the VM is cloned from it.
    assert verbs["clone"] == 2 and verbs["start"] >= 1 and verbs["deleteVM"] == 1
    assert stat.S_IMODE((tmp_path / "run" / "cpi.json").stat().st_mode) == 0o600  # it holds the private key


def steps(seconds: float, connections: int = 0) -> list[Step]:
    return [Step(m, connections, seconds) for m in CREATE_ENV]


def results(life: LifecycleResult) -> Results:
    return Results(
        "make bench",
        ["test machine"],
        REAL_HOST,
        2,
        life,
        Overhead(0.02, 0.05, 0.08, []),
        [Level(1, 4.0), Level(16, 12.0)],
        Primitives(0.001, 40960, 0.001, 0.001, 300.0, None, None),
        1.0,
    )


def test_the_report_gives_ssh_connections_per_call_and_the_ratio_of_the_same_runs() -> None:
    life = LifecycleResult(
        steps(0.0),
        [steps(1.0), steps(2.0)],
        [steps(3.0), steps(3.0)],
        frozenset(),
        over_ssh=[steps(1.5, 1), steps(2.0, 1)],
    )
    text = render(results(life))
    section = text[text.index("## 6.") :]
    assert "| create_vm | 1 | 1.75 | 1.50 | met |" in section
    assert f"| **create-env total** | **{len(CREATE_ENV)}** | **21.00** | **18.00** |" in section
    assert "**Over SSH / local: 1.25x** (median of the per-run ratios 1.50, 1.00)" in section


def test_more_than_one_connection_in_any_run_is_not_met() -> None:
    ssh = [
        steps(1.0, 1),
        [*steps(1.0, 1)[:2], Step("create_vm", 3, 1.0), *steps(1.0, 1)[3:]],
    ]
    life = LifecycleResult(steps(0.0), [steps(1.0)] * 2, [steps(1.0)] * 2, frozenset(), over_ssh=ssh)
    assert "| create_vm | 3 | 1.00 | 1.00 | **not met** |" in render(results(life))


def test_without_an_ssh_server_the_figure_is_reported_not_measured() -> None:
    life = LifecycleResult(
        steps(0.0),
        [steps(1.0)],
        [steps(1.0)],
        frozenset(),
        over_ssh=[],
        ssh_missing="not measured: no OpenSSH server (sshd not installed)",
    )
    section = render(results(life)).split("## 6.")[1]
    assert "not measured: no OpenSSH server" in section and "Over SSH / local" not in section


def test_the_report_states_the_tools_polling_the_cpi_does() -> None:
    text = render(results(LifecycleResult(steps(0.0), [steps(1.0)], [steps(1.0)], frozenset(), over_ssh=[])))
    assert f"doubling from {TOOLS_POLL_SECONDS:g} s to at most {TOOLS_POLL_MAX_SECONDS:g} s" in text
    assert "every 2 s" not in text
