"""SIGINT/SIGTERM in the middle of every CPI method that creates something, at every point.

Ctrl-C on ``bosh create-env`` reaches the CPI (the whole process group); a
supervisor sends SIGTERM. The CPI then fails the call like any other failure:
it rolls back what the call made and still answers ONE JSON error, exit 0, with
no traceback. In process, ``InterruptingRunner`` raises the handler's exception
at each host operation of the call in turn (before it, and just after it), so
every point is covered deterministically; afterwards nothing may be left that
no CID owns, no VM may run that BOSH was not told about, and the interrupted
call, retried, must succeed. Out of process, real signals reach a real
``bosh-vmrun-cpi`` (and the vmrun-sim it runs) mid-call: the answer is the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cpi.dispatch import dispatch
from tests.cpi.conftest import ENV, Cpi
from tests.reliability.leaks import inconsistencies, leaks
from tests.reliability.procs import BIN, Site
from tests.support.interrupting import InterruptingRunner
from vmtk_sim.state import Power

IMAGE = Path(__file__).resolve().parents[2] / "fixtures" / "stemcell" / "image"
PROPS = {"cpu": 1, "ram": 512, "disk": 256}
MAX_POINTS = 400  # far more host operations than any of these calls makes


@dataclass(frozen=True)
class Case:
    method: str
    setup: Callable[[Cpi], dict[str, Any]]
    args: Callable[[dict[str, Any]], tuple[Any, ...]]


def _stemcell(cpi: Cpi) -> dict[str, Any]:
    return {"stemcell": cpi.new_stemcell()}


def _vm(cpi: Cpi) -> dict[str, Any]:
    ids = _stemcell(cpi)
    ids["vm"] = cpi.create_vm(ids["stemcell"], props=PROPS)[0]
    return ids


def _vm_and_disk(cpi: Cpi) -> dict[str, Any]:
    ids = _vm(cpi)
    ids["disk"] = cpi("create_disk", 64, {}, ids["vm"])
    return ids


CASES = [
    Case("create_stemcell", lambda cpi: {}, lambda ids: (str(IMAGE), {})),
    Case("create_vm", _stemcell, lambda ids: ("agent-9", ids["stemcell"], PROPS, None, [], ENV)),
    Case("create_disk", _vm, lambda ids: (64, {}, ids["vm"])),
    Case("snapshot_disk", _vm_and_disk, lambda ids: (ids["disk"], {})),
    Case("attach_disk", _vm_and_disk, lambda ids: (ids["vm"], ids["disk"])),
]


def _resources(store: Path) -> set[str]:
    """The CIDs' files and directories: what a create would add."""
    if not store.exists():
        return set()
    top = {p.name for p in store.iterdir() if p.name.startswith(("vm-", "cs-"))}
    return top | {
        f"{d}/{p.name}" for d in ("disks", "snapshots") if (store / d).is_dir() for p in (store / d).iterdir()
    }


def _interrupted(cpi: Cpi, case: Case, ids: dict[str, Any], at: int, before: bool) -> tuple[bool, dict[str, Any]]:
    args = list(case.args(ids))
    if case.method == "create_vm":
        args[3] = cpi.manual()
    body = json.dumps({"method": case.method, "arguments": args, "context": {"director_uuid": "d"}, "api_version": 2})
    runner = InterruptingRunner(cpi.host.runner(), at=at, before=before)
    response = dispatch(body.encode(), lambda parsed: cpi.build(parsed, runner)).to_dict()
    return runner.fired, response


def _check(cpi: Cpi, case: Case, ids: dict[str, Any], before: set[str], fired: bool, response: dict[str, Any]) -> None:
    where = f"{case.method}: {response}"
    if not fired:
        assert response["error"] is None, where
        return
    error = response["error"]
    assert error is not None and "interrupted by SIGINT" in error["message"], where
    assert leaks(cpi.store, cpi.host) == [], where
    if case.method.startswith(("create_", "snapshot_")):
        assert _resources(cpi.store) == before, where  # rolled back: nothing new
    running = [k for k, vm in cpi.host.home.snapshot().vms.items() if vm.power is not Power.OFF]
    assert all(f"vm-{ids['vm']}" in key for key in running) if "vm" in ids else running == [], where
    if case.method == "attach_disk":  # what BOSH does next: retry; the VM is then as it should be
        assert cpi.raw("attach_disk", ids["vm"], ids["disk"])["error"] is None, where
        assert inconsistencies(cpi.store, cpi.host) == [], where


# attach_disk restarts the VM: twice as many points, each with a VM made first (about 25 s on 2 cores).
PARAMS = [pytest.param(c, id=c.method, marks=[pytest.mark.slow] if c.method == "attach_disk" else []) for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_an_interrupt_at_any_point_rolls_back_and_answers(
    case: Case, make_cpi: Callable[..., Cpi], tmp_path: Path
) -> None:
    interrupted = 0
    for at in range(1, MAX_POINTS):
        for before in (True, False):
            cpi = make_cpi()
            ids = case.setup(cpi)
            existing = _resources(cpi.store)
            fired, response = _interrupted(cpi, case, ids, at, before)
            _check(cpi, case, ids, existing, fired, response)
            interrupted += fired
            _reset(tmp_path)
        if not fired:
            break  # the call made fewer than ``at`` host operations: every point was covered
    assert interrupted >= 2, f"{case.method} was never interrupted"


def _reset(tmp_path: Path) -> None:
    import shutil

    for child in tmp_path.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


# --- real signals, real processes -----------------------------------------------------------


def _wait_for(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 60.0) -> bytes:
    """Read the CPI's stderr until ``needle`` (a log line) shows the call is under way."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = b""
    while needle not in seen:
        line = proc.stderr.readline()
        assert line and time.monotonic() < deadline, f"the CPI never logged {needle!r}: {seen[-2000:]!r}"
        seen += line
    return seen


def _finish(proc: subprocess.Popen[bytes], seen: bytes) -> tuple[int, bytes, bytes]:
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        out, err = proc.stdout.read(), seen + proc.stderr.read()
    return proc.wait(timeout=120), out, err


@pytest.mark.real_process
@pytest.mark.parametrize(
    ("sig", "group"), [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["SIGINT-group", "SIGTERM"]
)
@pytest.mark.parametrize("verb", ["clone", "start"])
def test_a_real_signal_mid_create_vm_answers_one_json_error_and_leaves_nothing(
    tmp_path: Path, sig: int, group: bool, verb: str
) -> None:
    site = Site.make(tmp_path, latency=0.0)
    stemcell = site.stemcell("5a5a5a5a-0000-4000-8000-0000000017a1")
    from vmtk_sim import SimHost

    SimHost(site.home).configure(latency={"default": 0.0, verb: 3.0})
    proc = _start(site, "create_vm", "agent", stemcell, {"disk": 64}, site.in_process().manual(), [], {})
    seen = _wait_for(proc, f"vmrun {verb} ".encode())  # the driver logs each vmrun verb it runs (DEBUG)
    time.sleep(0.5)  # well inside the slow verb
    (os.killpg if group else os.kill)(proc.pid, sig)
    code, out, err = _finish(proc, seen)
    assert code == 0 and b"Traceback" not in err, err[-3000:]
    response = json.loads(out)
    assert response["error"]["type"] == "Bosh::Clouds::VMCreationFailed"
    assert f"interrupted by {signal.Signals(sig).name}" in response["error"]["message"]
    assert leaks(site.store, SimHost(site.home)) == []
    assert [p.name for p in site.store.iterdir() if p.name.startswith("vm-")] == []


def _start(site: Site, method: str, *arguments: Any) -> subprocess.Popen[bytes]:
    return site.start(method, *arguments, debug=True)


@pytest.mark.real_process
def test_after_kill_9_mid_create_vm_store_gc_finds_and_removes_the_running_vm(tmp_path: Path) -> None:
    from vmtk_sim import SimHost

    site = Site.make(tmp_path, latency=0.0)
    stemcell = site.stemcell("5a5a5a5a-0000-4000-8000-0000000017a2")
    SimHost(site.home).configure(latency={"default": 0.0, "checkToolsState": 5.0})  # started, not yet answered
    proc = _start(site, "create_vm", "agent", stemcell, {"disk": 64}, site.in_process().manual(), [], {})
    seen = _wait_for(proc, b"vmrun checkToolsState ")
    os.killpg(proc.pid, signal.SIGKILL)
    _finish(proc, seen)
    host = SimHost(site.home)
    assert [vm.power for vm in host.home.snapshot().vms.values() if "vm-" in str(vm.spelling)] == [Power.RUNNING]
    env = {**os.environ, "VMRUN_SIM_HOME": str(site.home), "VMTK_VMRUN": str(BIN / "vmrun-sim")}
    found = subprocess.run(
        [str(BIN / "vmtk"), "store", "gc", str(site.store), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [row["kind"] for row in json.loads(found.stdout)] == ["unfinished-vm"]
    subprocess.run(
        [str(BIN / "vmtk"), "store", "gc", str(site.store), "--delete"], env=env, check=True, capture_output=True
    )
    assert leaks(site.store, SimHost(site.home)) == []
    assert all(vm.power is Power.OFF for vm in SimHost(site.home).home.snapshot().vms.values())
    assert [p.name for p in site.store.iterdir() if p.name.startswith("vm-")] == []
