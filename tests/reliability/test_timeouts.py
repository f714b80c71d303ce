"""A vmrun that hangs, or a lock that is never released, ends in a clear error within the configured bound.

In-process cases run on a ``FakeClock`` (the simulator's latency knob "sleeps"
through it, so hours pass in milliseconds) and check the simulated time spent
against the config's bounds; one subprocess case runs the real executable
against ``vmrun-sim`` on the real clock with a 2-second vmrun timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest

from tests.cpi.conftest import MANUAL, STEMCELL_CDROM, Cpi
from tests.reliability.leaks import leaks
from vmtk_sim import SimHost

VMRUN_TIMEOUT = 120
SOFT_STOP = 30
LOCK_TIMEOUT = 45
HANG = 1_000_000.0  # seconds of simulated latency: far beyond every bound


@pytest.fixture
def bounded(make_cpi) -> Cpi:  # type: ignore[no-untyped-def]
    return make_cpi(
        vmrun_timeout_seconds=VMRUN_TIMEOUT,
        vm_soft_shutdown_max_wait_seconds=SOFT_STOP,
        lock_timeout_seconds=LOCK_TIMEOUT,
        vm_start_max_wait_seconds=300,
    )


def ready(cpi: Cpi) -> dict[str, str]:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    return {"vm": vm, "disk": cpi("create_disk", 64, {}, vm)}


# method, arguments, the verb that hangs, the most simulated time the call may take
HANGS = [
    ("create_vm", "clone", VMRUN_TIMEOUT * 2),
    ("create_vm", "start", VMRUN_TIMEOUT * 2),
    ("attach_disk", "start", SOFT_STOP + VMRUN_TIMEOUT * 3),
    ("attach_disk", "stop", SOFT_STOP + VMRUN_TIMEOUT * 2),  # soft times out, then hard does too
    ("detach_disk", "start", SOFT_STOP + VMRUN_TIMEOUT * 3),
    ("reboot_vm", "stop", SOFT_STOP + VMRUN_TIMEOUT * 2),
    ("delete_vm", "deleteVM", VMRUN_TIMEOUT * 2),
    ("delete_vm", "stop", VMRUN_TIMEOUT * 2),
]


def arguments(cpi: Cpi, method: str) -> tuple:
    if method == "create_vm":
        return ("a", cpi.new_stemcell(), {"disk": 64}, MANUAL, [], {})
    ids = ready(cpi)
    if method == "detach_disk":
        cpi("attach_disk", ids["vm"], ids["disk"])
    return (ids["vm"], ids["disk"]) if method.endswith("_disk") else (ids["vm"],)


@pytest.mark.parametrize(("method", "verb", "bound"), HANGS, ids=[f"{m}-{v}" for m, v, _ in HANGS])
def test_a_hanging_vmrun_fails_the_call_within_its_bound(bounded: Cpi, method: str, verb: str, bound: float) -> None:
    args = arguments(bounded, method)
    bounded.host.configure(latency={verb.lower(): HANG})
    started = bounded.clock.monotonic()
    error = bounded.error(method, *args)
    spent = bounded.clock.monotonic() - started
    assert f"did not finish within {VMRUN_TIMEOUT} s" in error["message"], error
    assert spent <= bound, f"{method} took {spent:g} simulated seconds with {verb} hanging"
    bounded.host.configure(latency={})
    if method == "create_vm":
        assert leaks(bounded.store, bounded.host) == []  # rolled back at once
    # The sim acts before its latency, as a vmrun killed mid-way may have: the retry finishes the job.
    retried = bounded.raw(method, *args)["error"]
    assert retried is None or retried["type"] in ("Bosh::Clouds::VMNotFound", "Bosh::Clouds::DiskNotAttached")
    assert leaks(bounded.store, bounded.host) == []


def test_create_vm_whose_tools_never_answer_gives_up_at_the_start_wait(bounded: Cpi) -> None:
    bounded.host.configure(boot_delay=HANG)
    started = bounded.clock.monotonic()
    error = bounded.error("create_vm", "a", bounded.new_stemcell(), {}, MANUAL, [], {})
    assert error["type"] == "Bosh::Clouds::VMCreationFailed" and "timed out after 300 s" in error["message"]
    assert bounded.clock.monotonic() - started <= 300 + VMRUN_TIMEOUT * 2
    assert leaks(bounded.store, bounded.host) == []


@pytest.mark.parametrize("method", ["attach_disk", "reboot_vm", "delete_vm", "set_vm_metadata"])
def test_a_lock_held_elsewhere_fails_the_call_after_the_lock_timeout(bounded: Cpi, method: str) -> None:
    ids = ready(bounded)
    args = {"attach_disk": (ids["vm"], ids["disk"]), "set_vm_metadata": (ids["vm"], {})}.get(method, (ids["vm"],))
    holder = filelock.FileLock(str(bounded.store / ".locks" / f"vm-{ids['vm']}.lock"))
    with holder:
        started = bounded.clock.monotonic()
        error = bounded.error(method, *args)
        spent = bounded.clock.monotonic() - started
    assert f"still held by another process after {LOCK_TIMEOUT} s" in error["message"], error
    assert LOCK_TIMEOUT <= spent <= LOCK_TIMEOUT + 1
    assert bounded.raw(method, *args)["error"] is None  # released: the same call goes through


@pytest.mark.real_process
def test_the_executable_stops_a_hanging_vmrun_on_the_real_clock(tmp_path: Path) -> None:
    home, store = tmp_path / "sim", tmp_path / "store"
    SimHost(home).configure(boot_delay=0, latency={"start": 600})
    config = tmp_path / "cpi.json"
    config.write_text(
        json.dumps(
            {
                "cloud": {
                    "properties": {
                        "agent": {"mbus": "https://mbus:p@0.0.0.0:6868"},
                        "vmrun": {
                            "vm_store_path": str(store),
                            "vmrun_bin_path": str(Path(sys.executable).with_name("vmrun-sim")),
                            "vmrun_timeout_seconds": 2,
                        },
                    }
                }
            }
        )
    )
    stemcell = "5a5a5a5a-0000-4000-8000-0000000000bb"
    with open(SimHost(home).make_vm(str(store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx")), "a", encoding="utf-8") as f:
        f.write(STEMCELL_CDROM)
    request = {"method": "create_vm", "arguments": ["a", stemcell, {}, MANUAL, [], {}]}
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("bosh-vmrun-cpi")), str(config)],
        input=json.dumps(request).encode(),
        capture_output=True,
        timeout=60,
        check=False,
        env={"VMRUN_SIM_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    elapsed = time.monotonic() - started
    response = json.loads(done.stdout)
    assert response["error"]["type"] == "Bosh::Clouds::VMCreationFailed"
    assert "did not finish within 2 s" in response["error"]["message"]
    assert elapsed < 20, elapsed
    assert leaks(store, SimHost(home)) == []
