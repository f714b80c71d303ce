"""Every CPI method x every vmrun call it makes x every real error vmrun answers there.

The steps come from a clean run's ``calls.jsonl`` (``STEPS`` below is checked
against one, so it cannot drift from the code). Each case fails one step with
a real vmrun answer (``fixtures/outputs/vmrun/``) or a hang past
``vmrun_timeout_seconds``, then asserts: the BOSH error type and a message
saying what was being done; nothing left that no CID owns; the same call,
retried once the host behaves, succeeds and leaves every VM running with
settings that agree with its .vmx. Failures are injected for several calls in a
row so the driver's own retries of transient answers cannot hide them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cpi.conftest import ENV, MANUAL, Cpi
from tests.reliability.leaks import inconsistencies, leaks, vm_dirs

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "vmrun"
PERSIST = 6  # > vmrun.RETRY_ATTEMPTS: the driver's retries all meet the failure
HANG = "hang"


def real(name: str) -> str:
    return (OUTPUTS / f"{name}.txt").read_text(encoding="utf-8").strip()


# Real answers any call on a VM may get from a busy desktop host, plus a hang.
COMMON = ("in-use", "cancelled", "host-transient", "cannot-read-config", HANG)
ERRORS: dict[str, tuple[str, ...]] = {
    "clone": (*COMMON, "clone-state-unchanged", "clone-invalid-snapshot", "cannot-be-found"),
    # "already-running" is left out: a fault cannot make the simulated VM really run.
    "start": COMMON,
    "stop": (*COMMON, "tools-not-running"),
    "checkToolsState": COMMON,
    "deleteVM": (*COMMON, "cannot-be-found"),
    "list": ("host-transient", "in-use", HANG),
    "pause": (*COMMON, "paused"),
    "unpause": COMMON,
}


@dataclass(frozen=True)
class Method:
    """One CPI method: how to set it up, its vmrun steps, and what its errors must say."""

    name: str
    steps: tuple[str, ...]
    bosh_type: str
    doing: str  # the message prefix, formatted with the scenario's CIDs
    setup: Callable[[Cpi], dict[str, Any]]
    args: Callable[[dict[str, Any]], tuple[Any, ...]]


def _vm(cpi: Cpi) -> dict[str, Any]:
    stemcell = cpi.new_stemcell()
    vm, _ = cpi.create_vm(stemcell)
    return {"stemcell": stemcell, "vm": vm, "disk": cpi("create_disk", 512, {}, vm)}


def _vm_with_disk(cpi: Cpi) -> dict[str, Any]:
    ids = _vm(cpi)
    cpi("attach_disk", ids["vm"], ids["disk"])
    return ids


def _stemcell(cpi: Cpi) -> dict[str, Any]:
    return {"stemcell": cpi.new_stemcell()}


METHODS = (
    Method("create_vm", ("clone", "start", "checkToolsState"), "Bosh::Clouds::VMCreationFailed",
           "Creating VM for agent 'agent-1'", _stemcell,
           lambda ids: ("agent-1", ids["stemcell"], {"cpu": 1, "ram": 512, "disk": 256}, MANUAL, [], ENV)),
    Method("delete_vm", ("stop", "deleteVM"), "Bosh::Clouds::CloudError", "Deleting VM '{vm}'",
           _vm_with_disk, lambda ids: (ids["vm"],)),
    Method("attach_disk", ("checkToolsState", "stop", "start"), "Bosh::Clouds::CloudError",
           "Attaching disk '{disk}' to VM '{vm}'", _vm, lambda ids: (ids["vm"], ids["disk"])),
    Method("detach_disk", ("checkToolsState", "stop", "start"), "Bosh::Clouds::CloudError",
           "Detaching disk '{disk}' from VM '{vm}'", _vm_with_disk, lambda ids: (ids["vm"], ids["disk"])),
    Method("reboot_vm", ("checkToolsState", "stop", "start"), "Bosh::Clouds::CloudError",
           "Rebooting VM '{vm}'", _vm, lambda ids: (ids["vm"],)),
    Method("snapshot_disk", ("list", "pause", "unpause"), "Bosh::Clouds::CloudError",
           "Snapshotting disk '{disk}'", _vm_with_disk, lambda ids: (ids["disk"], {})),
)
# Methods that make no vmrun call at all (files only): checked to stay that way.
NO_VMRUN = {
    "has_vm": lambda ids: (ids["vm"],), "get_disks": lambda ids: (ids["vm"],),
    "set_vm_metadata": lambda ids: (ids["vm"], {"job": "j"}), "create_disk": lambda ids: (64, {}, ids["vm"]),
    "set_disk_metadata": lambda ids: (ids["disk"], {"a": "b"}),
}
BY_NAME = {m.name: m for m in METHODS}
TRANSIENT = ("in-use", "host-transient")
# Outcomes where the CPI rightly carries on: the failed step has a documented fallback.
RECOVERED = {
    ("attach_disk", "stop"), ("detach_disk", "stop"), ("reboot_vm", "stop"),  # soft stop -> hard stop
    ("delete_vm", "deleteVM"),  # nothing VMware can delete: the directory removal does it
}


def recovered(name: str, verb: str, error: str) -> bool:
    # create_vm polls checkToolsState until its start wait ends: transient answers are just polled through.
    return (name, verb) in RECOVERED or (name, verb, error in TRANSIENT) == ("create_vm", "checkToolsState", True)


def case(name: str, step: int, error: str):  # type: ignore[no-untyped-def]
    verb = BY_NAME[name].steps[step]
    return pytest.param(name, step, error, id=f"{name}-{verb}{step}-{error}")


CASES = [case(m.name, i, error) for m in METHODS for i, verb in enumerate(m.steps) for error in ERRORS[verb]]


def verbs_of(calls: list[dict[str, Any]]) -> list[str]:
    from toolkit.sim.vmrun_model import HANDLERS

    return [next(a for a in c["argv"] if a.lower() in HANDLERS) for c in calls if c["tool"] == "vmrun"]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_steps_are_those_of_a_clean_run(cpi: Cpi, method: Method) -> None:
    ids = method.setup(cpi)
    before = len(cpi.host.calls())
    cpi(method.name, *method.args(ids))
    assert tuple(verbs_of(cpi.host.calls()[before:])) == method.steps


def test_the_other_methods_make_no_vmrun_call(cpi: Cpi) -> None:
    ids = _vm(cpi)
    before = len(cpi.host.calls())
    for name, args in NO_VMRUN.items():
        cpi(name, *args(ids))
    assert cpi.host.calls()[before:] == []


def inject(cpi: Cpi, verb: str, error: str) -> None:
    first = cpi.next_call(verb)
    fault = {"hang": True} if error == HANG else {"output": real(error)}
    cpi.host.configure(faults=[{"verb": verb, "nth": first + i, **fault} for i in range(PERSIST)])


def expected_text(error: str) -> str:
    return "did not finish within" if error == HANG else real(error).splitlines()[-1].removeprefix("Error: ")


@pytest.mark.parametrize(("name", "step", "error"), CASES)
def test_fault(cpi: Cpi, name: str, step: int, error: str) -> None:
    method = BY_NAME[name]
    ids = method.setup(cpi)
    verb = method.steps[step]
    vms_before = {p.name for p in vm_dirs(cpi.store)}
    inject(cpi, verb, error)
    response = cpi.raw(name, *method.args(ids))
    cpi.host.configure(faults=[])
    if response["error"] is None:
        assert recovered(name, verb, error), f"{name} succeeded although {verb} answered {error!r}"
    else:
        failure = response["error"]
        assert failure["type"] == method.bosh_type, failure
        assert failure["message"].startswith(method.doing.format(**ids)), failure["message"]
        assert expected_text(error) in failure["message"], failure["message"]
        assert leaks(cpi.store, cpi.host) == []
        if name == "create_vm":
            assert {p.name for p in vm_dirs(cpi.store)} == vms_before  # rolled back
        retry(cpi, method, ids)
    assert leaks(cpi.store, cpi.host) == []
    assert inconsistencies(cpi.store, cpi.host) == []


def retry(cpi: Cpi, method: Method, ids: dict[str, Any]) -> None:
    """The same call once the host behaves: success (or the idempotent 'already done' answer)."""
    response = cpi.raw(method.name, *method.args(ids))
    done = {"detach_disk": "Bosh::Clouds::DiskNotAttached", "delete_vm": "Bosh::Clouds::VMNotFound"}
    if response["error"] is not None:
        assert response["error"]["type"] == done.get(method.name), response["error"]
    if method.name == "delete_vm":
        assert cpi("has_vm", ids["vm"]) is False
