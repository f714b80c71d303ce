"""The create-env sequence of CPI calls, with the external runs and wall time of each call.

Generic over how a request is made (``call``) and how host program runs are
counted (``count``, e.g. lines of the simulator's ``calls.jsonl``), so the
benchmark drives the executable while the regression test drives the CPI
in-process. ``has_disk`` and ``calculate_vm_cloud_properties`` are measured too
(their target is zero runs) but are not part of the create-env total. This
module never decides whether a figure is good.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.errors import BenchmarkError

CREATE_ENV = (
    "info",
    "create_stemcell",
    "create_vm",
    "set_vm_metadata",
    "create_disk",
    "attach_disk",
    "set_disk_metadata",
    "has_vm",
    "detach_disk",
    "delete_vm",
    "delete_disk",
    "delete_stemcell",
)
ZERO_RUN_CALLS = (
    "info",
    "has_vm",
    "has_disk",
    "create_disk",
    "delete_disk",
    "set_vm_metadata",
    "set_disk_metadata",
    "calculate_vm_cloud_properties",
)
TOTAL_TARGET = 12
NETWORKS = {
    "default": {
        "type": "manual",
        "ip": "10.0.0.5",
        "netmask": "255.255.255.0",
        "gateway": "10.0.0.1",
        "dns": ["8.8.8.8"],
        "default": ["dns", "gateway"],
        "cloud_properties": {"name": "vmnet8"},
    }
}
VM_PROPERTIES = {"cpu": 2, "ram": 2048, "disk": 1024}
ENV = {"bosh": {"password": "$6$salted", "group": "bench"}}
STEMCELL_PROPERTIES = {
    "name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent",
    "version": "1.0",
    "disk": 1024,
}
VM_METADATA = {
    "director": "bosh-init",
    "deployment": "bosh",
    "instance_group": "director",
    "index": "0",
    "job": "bosh",
    "name": "bosh/0",
}


@dataclass(frozen=True, slots=True)
class Step:
    method: str
    runs: int
    seconds: float
    in_sequence: bool = True
    note: str = ""  # set when the call could not be measured as asked (and why)


class Recorder:
    """Makes calls and records, for each, the program runs it caused and its wall time."""

    def __init__(self, call: Callable[..., Any], count: Callable[[], int]) -> None:
        self._call, self._count = call, count
        self.steps: list[Step] = []

    def __call__(self, method: str, *args: Any, in_sequence: bool = True) -> Any:
        before, started = self._count(), time.perf_counter()
        note = ""
        try:
            return self._call(method, *args)
        except BenchmarkError as exc:
            note = str(exc)
            raise
        finally:
            seconds = time.perf_counter() - started
            self.steps.append(Step(method, self._count() - before, seconds, in_sequence, note))


def create_env(
    call: Callable[..., Any],
    count: Callable[[], int],
    *,
    image: str,
    make_template: Callable[[], str],
) -> list[Step]:
    """Run the sequence once; a stemcell that cannot be imported is made directly (noted)."""
    rec = Recorder(call, count)
    rec("info")
    stemcell = _stemcell(rec, image, make_template)
    vm = _vm_cid(rec("create_vm", "agent-bench", stemcell, VM_PROPERTIES, NETWORKS, [], ENV))
    rec("set_vm_metadata", vm, VM_METADATA)
    disk = rec("create_disk", 2048, {}, vm)
    rec("attach_disk", vm, disk)
    rec(
        "set_disk_metadata",
        disk,
        {"deployment": "bosh", "instance_group": "director", "attached_at": "now"},
    )
    rec("has_vm", vm)
    rec("has_disk", disk, in_sequence=False)
    rec(
        "calculate_vm_cloud_properties",
        {"cpu": 2, "ram": 2048, "ephemeral_disk_size": 1024},
        in_sequence=False,
    )
    rec("detach_disk", vm, disk)
    rec("delete_vm", vm)
    rec("delete_disk", disk)
    rec("delete_stemcell", stemcell)
    return rec.steps


def _stemcell(rec: Recorder, image: str, make_template: Callable[[], str]) -> str:
    try:
        return str(rec("create_stemcell", image, STEMCELL_PROPERTIES))
    except BenchmarkError:
        return make_template()  # the failed import stays recorded, with its error as the note


def _vm_cid(result: Any) -> str:
    return str(result[0] if isinstance(result, list) else result)  # API v2: [cid, networks]


def runs_by_method(steps: list[Step]) -> dict[str, int]:
    return {step.method: step.runs for step in steps}


def sequence_total(steps: list[Step]) -> int:
    return sum(step.runs for step in steps if step.in_sequence)
