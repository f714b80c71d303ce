"""External program runs per CPI call for the create-env sequence, from the simulator's calls.jsonl.

The figures ``make bench`` reports (BENCHMARKS.md item 1), asserted so that a
change costing a VMware host more vmrun/ovftool runs fails CI. The CPI runs
in-process against the simulator on a FakeClock: no real sleeping, no timings.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks.hostcosts import NO_COSTS, REAL_HOST, HostCosts
from benchmarks.reference import REFERENCE_RUNS, NaiveCpi
from benchmarks.sequence import (
    CREATE_ENV,
    TOTAL_TARGET,
    ZERO_RUN_CALLS,
    Step,
    create_env,
    runs_by_method,
    sequence_total,
)
from benchmarks.workspace import Workspace, cpi_config, response_result, stemcell_image
from cpi.config import CpiConfig
from cpi.dispatch import dispatch
from toolkit.host.clock import FakeClock
from vmtk_sim import SimHost

# What each call costs today with a guest that boots at once: the minimum the hypervisor needs.
EXPECTED_RUNS = {
    "info": 0,
    "create_stemcell": 0,
    "create_vm": 3,
    "set_vm_metadata": 0,
    "create_disk": 0,
    "attach_disk": 3,
    "set_disk_metadata": 0,
    "has_vm": 0,
    "has_disk": 0,
    "calculate_vm_cloud_properties": 0,
    "detach_disk": 3,
    "delete_vm": 2,
    "delete_disk": 0,
    "delete_stemcell": 0,
}


class InProcessCpi:
    """The CPI's JSON layer over a SimHost on a FakeClock, with the benchmark's config."""

    def __init__(self, root: Path, costs: HostCosts) -> None:
        self.clock = FakeClock()
        self.space = Workspace.create(root, costs)
        self.host = SimHost(self.space.sim_home, clock=self.clock)
        self.config = CpiConfig.from_mapping(cpi_config(self.space.store, "vmrun-sim"))

    def call(self, method: str, *arguments: Any) -> Any:
        from cpi.factory import build_cloud

        body = json.dumps(
            {
                "method": method,
                "arguments": list(arguments),
                "api_version": 2,
                "context": {},
            }
        )
        response = dispatch(
            body.encode(), lambda req: build_cloud(self.config, req, runner=self.host.runner(), clock=self.clock)
        )
        return response_result(method, response.to_json().encode())

    def runs(self) -> int:
        return len(self.host.calls())

    def create_env(self, image: Path) -> list[Step]:
        return create_env(
            self.call,
            self.runs,
            image=str(image),
            make_template=self.space.make_template,
        )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stemcell_image(tmp_path_factory.mktemp("stemcell") / "image")


def only_the_import_may_be_noted(steps: list[Step]) -> None:
    # create_stemcell is noted while the stemcell importer has not landed; it costs no run either way
    assert [s.method for s in steps if s.note] in ([], ["create_stemcell"]), [s.note for s in steps]


def test_create_env_sequence_meets_the_run_budget_with_a_quick_guest(tmp_path: Path, image: Path) -> None:
    cpi = InProcessCpi(tmp_path, NO_COSTS)
    steps = cpi.create_env(image)
    only_the_import_may_be_noted(steps)
    assert [s.method for s in steps if s.in_sequence] == list(CREATE_ENV)
    assert runs_by_method(steps) == EXPECTED_RUNS
    assert sequence_total(steps) == sum(EXPECTED_RUNS[m] for m in CREATE_ENV) <= TOTAL_TARGET
    assert all(runs_by_method(steps)[m] == 0 for m in ZERO_RUN_CALLS)
    assert sequence_total(steps) == len(cpi.host.calls())  # every run is in calls.jsonl, none elsewhere


def test_a_slow_boot_only_adds_tools_checks_to_create_vm(tmp_path: Path, image: Path) -> None:
    cpi = InProcessCpi(tmp_path, REAL_HOST)
    steps = cpi.create_env(image)
    only_the_import_may_be_noted(steps)
    runs = runs_by_method(steps)
    assert {m: n for m, n in runs.items() if m != "create_vm"} == {
        m: n for m, n in EXPECTED_RUNS.items() if m != "create_vm"
    }
    verbs = Counter(call["argv"][2] for call in cpi.host.calls()[: runs["create_vm"]])
    assert verbs["clone"] == 1 and verbs["start"] == 1
    assert verbs["checkToolsState"] == runs["create_vm"] - 2 >= 1


def test_the_naive_replay_makes_the_reference_runs_per_call(tmp_path: Path, image: Path) -> None:
    space = Workspace.create(tmp_path, REAL_HOST)
    naive = NaiveCpi(space, REAL_HOST, clock=FakeClock())
    steps = create_env(naive.call, naive.count, image=str(image), make_template=space.make_template)
    assert not [s.note for s in steps if s.note]
    assert runs_by_method(steps) == {m: n or 0 for m, n in REFERENCE_RUNS.items()}
    assert sequence_total(steps) == 54
    vmrun_runs = [c for c in naive.host.calls() if c["tool"] == "vmrun"]
    assert Counter(c["argv"][0] for c in vmrun_runs) == {
        "list": 35,
        "start": 3,
        "stop": 3,
        "clone": 1,
        "deleteVM": 2,
    }


@pytest.mark.parametrize(("boot", "most_checks"), [(5.0, 4), (30.0, 7), (60.0, 11)])
def test_tools_checks_back_off_so_long_boots_stay_cheap(
    tmp_path: Path, image: Path, boot: float, most_checks: int
) -> None:
    # Each check is a vmrun run; polling every 2 s would cost 4, 16 and 31 checks here.
    cpi = InProcessCpi(tmp_path, dataclasses.replace(REAL_HOST, boot=boot))
    runs = runs_by_method(cpi.create_env(image))
    assert 1 <= runs["create_vm"] - 2 <= most_checks
