"""Every CPI method x every external call it makes x every real error that call answers.

A scenario is a CPI method, some set up a particular way: create_stemcell with
``ovftool_bin_path``, create_vm with a ``bootstrap`` script (its guest steps),
attach/detach with a restart an earlier call left pending (``Vms.finish_restart``),
delete_vm of a stopped VM whose .vmx VMware cannot read. Its steps (vmrun verbs,
``ovftool``) come from a clean run's ``calls.jsonl``, and each scenario's
``steps`` below is checked against one, so the table cannot drift from the
code. Each case fails one step with a real answer (``fixtures/outputs/vmrun/``,
``fixtures/outputs/ovftool/``) or a hang past the tool's timeout, then asserts:
the fault was met; the BOSH error type and a message saying what was being
done and what the tool answered; nothing left that no CID owns (the store
scan of ``leaks.py``, plus the host temp directories ovftool and guest copies
staged files in); a failed create rolled back; the same call, retried once the
host behaves, succeeds and leaves every VM running with settings that agree
with its .vmx. Failures are injected for several calls in a row so the
driver's own retries of transient answers cannot hide them. The bootstrap
scenario runs its script as a real sandboxed guest program (``real_process``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cpi.conftest import ENV, MANUAL, Cpi
from tests.reliability.leaks import inconsistencies, leaks, vm_dirs
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmrun import StopMode, Vmrun

pytestmark = pytest.mark.slow  # minutes of real processes: make test runs it, make test-fast does not

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
OUTPUTS = (FIXTURES / "outputs" / "vmrun", FIXTURES / "outputs" / "ovftool")
IMAGE = FIXTURES / "stemcell" / "image"
PERSIST = 6  # > vmrun.RETRY_ATTEMPTS: the driver's retries all meet the failure
HANG = "hang"
EXIT_CODES = {"checktoolsstate-unknown": 254, "import-bad-family": 1, "import-exists": 1}  # as the tools exit
# Polls whose count depends on how fast the (real, sandboxed) guest program ends: one step however many.
POLLED = {"CopyFileFromGuestToHost"}


def real(name: str) -> str:
    return next(d / f"{name}.txt" for d in OUTPUTS if (d / f"{name}.txt").exists()).read_text(encoding="utf-8").strip()


# Real answers any call on a VM may get from a busy desktop host, plus a hang.
COMMON = ("in-use", "cancelled", "host-transient", "cannot-read-config", HANG)
# A guest operation's own answers. "not-powered-on" is real here (the guest crashed) and, as create_vm
# rolls back whatever the VM's state, a fault saying so cannot leave a state the truth would not.
GUEST = (*COMMON, "tools-not-running", "not-powered-on", "guest-bad-login")
GUEST_FILES = (*GUEST, "guest-file-not-found")  # a guest path (directory, interpreter) is missing
ERRORS: dict[str, tuple[str, ...]] = {
    "clone": (*COMMON, "clone-state-unchanged", "clone-invalid-snapshot", "cannot-be-found"),
    # "already-running" is left out: a fault cannot make the simulated VM really run. Likewise
    # "not-powered-on" on stop: a fault cannot power the VM off, and a running VM the CPI believes
    # off gets edited (and deleted) under VMware's feet, which a truthful answer never causes.
    "start": COMMON,
    "stop": (*COMMON, "tools-not-running"),
    "checkToolsState": (*COMMON, "checktoolsstate-unknown"),
    "deleteVM": (*COMMON, "cannot-be-found"),
    "list": ("host-transient", "in-use", HANG),
    "pause": (*COMMON, "paused", "not-powered-on"),  # the VM went off after `list`: nothing to pause
    "unpause": COMMON,
    "ovftool": ("import-bad-family", "import-exists", HANG),
    "listProcessesInGuest": GUEST,
    "CopyFileFromHostToGuest": GUEST_FILES,
    "createDirectoryInGuest": GUEST_FILES,
    "runProgramInGuest": GUEST_FILES,
    "CopyFileFromGuestToHost": GUEST_FILES,
    "deleteDirectoryInGuest": GUEST,
}
UNREADABLE = ("in-use", "cancelled", "host-transient", HANG)  # instead of the .vmx's own "cannot read"
OVERRIDES = {
    ("delete_vm+unreadable_vmx", "stop"): UNREADABLE,
    ("delete_vm+unreadable_vmx", "deleteVM"): (*UNREADABLE, "cannot-be-found"),
}


@dataclass(frozen=True)
class Method:
    """One scenario: how to set it up, its steps, which of them are faulted here, what its errors must say."""

    name: str  # the CPI method, "+how" when set up a particular way
    steps: tuple[str, ...]
    bosh_type: str
    doing: str  # the message prefix, formatted with the scenario's CIDs
    setup: Callable[[Cpi], dict[str, Any]]
    args: Callable[[dict[str, Any]], tuple[Any, ...]]
    faulted: tuple[int, ...] | None = None  # None: every step (the others are faulted in another scenario)
    config: tuple[tuple[str, Any], ...] = ()  # CPI properties it needs
    guest: bool = False  # runs real (sandboxed) guest programs

    @property
    def call(self) -> str:
        return self.name.split("+")[0]

    def cpi(self, make_cpi: Callable[..., Cpi]) -> Cpi:
        return make_cpi(**dict(self.config))


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


def _left_off(cpi: Cpi, method: str, ids: dict[str, Any]) -> dict[str, Any]:
    """An earlier call whose restart failed: the VM is off behind its restart-pending marker."""
    set_faults(cpi, [{"verb": "start", "nth": next_call(cpi, "start"), "output": real("cancelled")}])
    assert cpi.raw(method, ids["vm"], *([ids["disk"]] if method != "reboot_vm" else []))["error"] is not None
    set_faults(cpi, [])
    assert (cpi.vm_dir(ids["vm"]) / "restart-pending").exists()
    return ids


def _unreadable(cpi: Cpi) -> dict[str, Any]:
    """A stopped VM whose .vmx no longer parses: vmrun answers "Cannot read" to its stop and deleteVM."""
    ids = _vm_with_disk(cpi)
    Vmrun(cpi.host.runner(), binary="vmrun-sim", clock=FakeClock()).stop(str(cpi.vmx(ids["vm"])), StopMode.HARD)
    cpi.vmx(ids["vm"]).write_bytes(cpi.vmx(ids["vm"]).read_bytes() + b'memsize = "2048\n')
    return ids


BOOTSTRAP = {
    "script_content": "echo prepared\n",
    "script_path": "/tmp/bootstrap.sh",
    "interpreter_path": "/bin/sh",
    "username": "vcap",
    "password": "c1oudc0w",
    "ready_process_name": "bosh-agent",
    "min_wait_seconds": 1,
    "max_wait_seconds": 60,
}
CREATING = "Creating VM for agent 'agent-1'"
VM_PROPS = {"cpu": 1, "ram": 512, "disk": 256}
GUEST_STEPS = (
    "list",
    "listProcessesInGuest",
    "CopyFileFromHostToGuest",
    "createDirectoryInGuest",
    "CopyFileFromHostToGuest",
    "runProgramInGuest",
    "CopyFileFromGuestToHost",
    "deleteDirectoryInGuest",
)
CLOUD, CREATION = "Bosh::Clouds::CloudError", "Bosh::Clouds::VMCreationFailed"
METHODS = (
    Method(
        "create_vm",
        ("clone", "start", "checkToolsState"),
        CREATION,
        CREATING,
        _stemcell,
        lambda ids: ("agent-1", ids["stemcell"], VM_PROPS, MANUAL, [], ENV),
    ),
    Method("delete_vm", ("stop", "deleteVM"), CLOUD, "Deleting VM '{vm}'", _vm_with_disk, lambda ids: (ids["vm"],)),
    Method(
        "attach_disk",
        ("checkToolsState", "stop", "start"),
        CLOUD,
        "Attaching disk '{disk}' to VM '{vm}'",
        _vm,
        lambda ids: (ids["vm"], ids["disk"]),
    ),
    Method(
        "detach_disk",
        ("checkToolsState", "stop", "start"),
        CLOUD,
        "Detaching disk '{disk}' from VM '{vm}'",
        _vm_with_disk,
        lambda ids: (ids["vm"], ids["disk"]),
    ),
    Method(
        "reboot_vm", ("checkToolsState", "stop", "start"), CLOUD, "Rebooting VM '{vm}'", _vm, lambda ids: (ids["vm"],)
    ),
    Method(
        "snapshot_disk",
        ("list", "pause", "unpause"),
        CLOUD,
        "Snapshotting disk '{disk}'",
        _vm_with_disk,
        lambda ids: (ids["disk"], {}),
    ),
    Method(
        "create_stemcell+ovftool",
        ("ovftool",),
        CLOUD,
        f"Importing stemcell image '{IMAGE}'",
        lambda cpi: {},
        lambda ids: (str(IMAGE), {}),
        config=(("ovftool_bin_path", "ovftool-sim"),),
    ),
    # clone, start and checkToolsState are create_vm's own steps, faulted above.
    Method(
        "create_vm+bootstrap",
        ("clone", "start", "checkToolsState", *GUEST_STEPS),
        CREATION,
        CREATING,
        _stemcell,
        lambda ids: ("agent-1", ids["stemcell"], {**VM_PROPS, "bootstrap": BOOTSTRAP}, MANUAL, [], ENV),
        faulted=tuple(range(3, 3 + len(GUEST_STEPS))),
        guest=True,
    ),
    Method(
        "attach_disk+restart_pending",
        ("list", "start"),
        CLOUD,
        "Attaching disk '{disk}' to VM '{vm}'",
        lambda cpi: _left_off(cpi, "attach_disk", _vm(cpi)),
        lambda ids: (ids["vm"], ids["disk"]),
    ),
    # After the pending start, detach's own cold edit (faulted above).
    Method(
        "detach_disk+restart_pending",
        ("list", "start", "checkToolsState", "stop", "start"),
        CLOUD,
        "Detaching disk '{disk}' from VM '{vm}'",
        lambda cpi: _left_off(cpi, "reboot_vm", _vm_with_disk(cpi)),
        lambda ids: (ids["vm"], ids["disk"]),
        faulted=(0, 1),
    ),
    Method(
        "delete_vm+unreadable_vmx",
        ("stop", "list", "deleteVM"),
        CLOUD,
        "Deleting VM '{vm}'",
        _unreadable,
        lambda ids: (ids["vm"],),
    ),
)
# Methods that make no vmrun call at all (files only): checked to stay that way.
NO_VMRUN = {
    "has_vm": lambda ids: (ids["vm"],),
    "get_disks": lambda ids: (ids["vm"],),
    "set_vm_metadata": lambda ids: (ids["vm"], {"job": "j"}),
    "create_disk": lambda ids: (64, {}, ids["vm"]),
    "set_disk_metadata": lambda ids: (ids["disk"], {"a": "b"}),
}
BY_NAME = {m.name: m for m in METHODS}
# Waits poll through transient answers until their deadline (toolkit.host.clock.wait_until), and the Tools
# wait through "unknown" too: faults for a few calls in a row only delay them.
WAITS = {("create_vm", "checkToolsState"), ("create_vm+bootstrap", "listProcessesInGuest")}
TRANSIENT = ("in-use", "host-transient", "tools-not-running", "checktoolsstate-unknown")
# Outcomes where the CPI rightly carries on: the failed step has a documented fallback.
RECOVERED = {
    ("attach_disk", "stop"),
    ("detach_disk", "stop"),
    ("reboot_vm", "stop"),  # soft stop -> hard stop
    # nothing VMware can delete: the directory removal does it
    ("delete_vm", "deleteVM"),
    ("delete_vm+unreadable_vmx", "deleteVM"),
    ("create_vm+bootstrap", "deleteDirectoryInGuest"),  # removing the guest temp dir is best effort
}


# Answers with a fallback wherever they come: Tools in an unknown state get a hard stop instead of a soft
# one (or another poll), and the output poller reads a missing file as "not written yet" and polls again.
FALLBACKS = {("checkToolsState", "checktoolsstate-unknown"), ("CopyFileFromGuestToHost", "guest-file-not-found")}


def recovered(name: str, verb: str, error: str) -> bool:
    return (name, verb) in RECOVERED or ((name, verb) in WAITS and error in TRANSIENT) or (verb, error) in FALLBACKS


def errors_of(method: Method, verb: str) -> tuple[str, ...]:
    return OVERRIDES.get((method.name, verb), ERRORS[verb])


def case(method: Method, step: int, error: str):  # type: ignore[no-untyped-def]
    marks = [pytest.mark.real_process] if method.guest else []
    return pytest.param(method.name, step, error, id=f"{method.name}-{method.steps[step]}{step}-{error}", marks=marks)


CASES = [
    case(m, i, error)
    for m in METHODS
    for i in (m.faulted if m.faulted is not None else range(len(m.steps)))
    for error in errors_of(m, m.steps[i])
]


def verbs_of(calls: list[dict[str, Any]]) -> list[str]:
    """The verb of every vmrun call, "ovftool" for an ovftool call."""
    from vmtk_sim.vmrun_model import HANDLERS

    return [next(a for a in c["argv"] if a.lower() in HANDLERS) if c["tool"] == "vmrun" else c["tool"] for c in calls]


def steps_of(calls: list[dict[str, Any]]) -> tuple[str, ...]:
    verbs = verbs_of(calls)
    return tuple(v for i, v in enumerate(verbs) if not (v in POLLED and i and verbs[i - 1] == v))


def scenario(method: Method):  # type: ignore[no-untyped-def]
    return pytest.param(method, id=method.name, marks=[pytest.mark.real_process] if method.guest else [])


@pytest.mark.parametrize("method", [scenario(m) for m in METHODS])
def test_steps_are_those_of_a_clean_run(make_cpi: Callable[..., Cpi], method: Method) -> None:
    cpi = method.cpi(make_cpi)
    ids = method.setup(cpi)
    before = len(cpi.host.calls())
    cpi(method.call, *method.args(ids))
    assert steps_of(cpi.host.calls()[before:]) == method.steps


def test_the_other_methods_make_no_vmrun_call(cpi: Cpi) -> None:
    ids = _vm(cpi)
    before = len(cpi.host.calls())
    for name, args in NO_VMRUN.items():
        cpi(name, *args(ids))
    assert cpi.host.calls()[before:] == []


def next_call(cpi: Cpi, verb: str) -> int:
    """The 1-based number the next ``verb`` call will have (the simulator keys faults on it)."""
    return 1 + sum(v.lower() == verb.lower() for v in verbs_of(cpi.host.calls()))


def set_faults(cpi: Cpi, faults: list[dict[str, Any]]) -> int:
    """Configure ``faults`` (a new list: none of them used yet); the index of the first."""
    cpi.host.configure(faults=faults)
    return 0


def inject(cpi: Cpi, method: Method, step: int, error: str) -> int:
    """Fail the step's call and the next ones of its verb; the index of the first fault (see fired)."""
    verb = method.steps[step]
    first = next_call(cpi, verb) + method.steps[:step].count(verb)
    fault = {"hang": True} if error == HANG else {"output": real(error), "exit_code": EXIT_CODES.get(error, 255)}
    return set_faults(cpi, [{"verb": verb, "nth": first + i, **fault} for i in range(PERSIST)])


def fired(cpi: Cpi, index: int) -> bool:
    """Whether the fault at ``index`` answered a call (a recovery must have met its failure)."""
    return index in cpi.host.home.snapshot().faults_used


def expected_text(error: str) -> str:
    if error == HANG:
        return "did not finish within"
    lines = real(error).splitlines()
    return next((line for line in lines if line.startswith("Error: ")), lines[-1]).removeprefix("Error: ")


def temp_dirs_left(cpi: Cpi) -> list[str]:
    """Host temp directories (``vmtk-*``) a call staged files in for ovftool or a guest copy, still there:
    outside the store, so ``leaks`` cannot see them."""
    staged = {c["argv"][-2] for c in cpi.host.calls() if c["tool"] == "ovftool"}
    staged |= {c["argv"][-2] for c in cpi.host.calls() if "CopyFileFromHostToGuest" in c["argv"]}
    staged |= {c["argv"][-1] for c in cpi.host.calls() if "CopyFileFromGuestToHost" in c["argv"]}
    dirs = {Path(path).parent for path in staged}
    return sorted(str(d) for d in dirs if d.name.startswith("vmtk-") and d.exists())


def made(cpi: Cpi) -> set[str]:
    """What a create leaves in the store: VM directories, stemcell directories."""
    return {p.name for p in vm_dirs(cpi.store)} | (
        {p.name for p in cpi.store.glob("cs-*")} if cpi.store.exists() else set()
    )


@pytest.mark.parametrize(("name", "step", "error"), CASES)
def test_fault(make_cpi: Callable[..., Cpi], name: str, step: int, error: str) -> None:
    method = BY_NAME[name]
    cpi = method.cpi(make_cpi)
    ids = method.setup(cpi)
    verb = method.steps[step]
    before = made(cpi)
    first = inject(cpi, method, step, error)
    response = cpi.raw(method.call, *method.args(ids))
    set_faults(cpi, [])
    assert fired(cpi, first), f"no {verb} call met the fault"
    if response["error"] is None:
        assert recovered(name, verb, error), f"{name} succeeded although {verb} answered {error!r}"
    else:
        failure = response["error"]
        assert failure["type"] == method.bosh_type, failure
        assert failure["message"].startswith(method.doing.format(**ids)), failure["message"]
        assert expected_text(error) in failure["message"], failure["message"]
        assert BOOTSTRAP["password"] not in failure["message"] + response["log"]
        assert leaks(cpi.store, cpi.host) == [] and temp_dirs_left(cpi) == []
        if method.call.startswith("create_"):
            assert made(cpi) == before  # rolled back
        retry(cpi, method, ids)
    assert leaks(cpi.store, cpi.host) == [] and temp_dirs_left(cpi) == []
    assert inconsistencies(cpi.store, cpi.host) == []


def retry(cpi: Cpi, method: Method, ids: dict[str, Any]) -> None:
    """The same call once the host behaves: success (or the idempotent 'already done' answer)."""
    response = cpi.raw(method.call, *method.args(ids))
    done = {"detach_disk": "Bosh::Clouds::DiskNotAttached", "delete_vm": "Bosh::Clouds::VMNotFound"}
    if response["error"] is not None:
        assert response["error"]["type"] == done.get(method.call), response["error"]
    if method.call == "delete_vm":
        assert cpi("has_vm", ids["vm"]) is False
