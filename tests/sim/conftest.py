"""Fixtures for the simulator's own tests: a simulated host on a FakeClock and a VM on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit.host.clock import FakeClock
from toolkit.host.runner import Completed
from vmtk_sim import SimHost

GUEST = ("-gu", "vcap", "-gp", "c1oudc0w")
BOOT_DELAY = 5.0
Vmrun = Callable[..., Completed]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def host(tmp_path: Path, clock: FakeClock) -> SimHost:
    sim = SimHost(tmp_path / "sim-home", clock=clock)
    sim.configure(boot_delay=BOOT_DELAY)
    return sim


@pytest.fixture
def vmrun(host: SimHost) -> Vmrun:
    """``vmrun("start", vmx)`` through the simulated host's Runner, with ``-T ws``."""
    runner = host.runner()

    def run(*args: str, host_type: str = "ws", timeout: float = 60.0) -> Completed:
        return runner.run(["vmrun-sim", "-T", host_type, *args], timeout=timeout)

    return run


@pytest.fixture
def vmx(host: SimHost, tmp_path: Path) -> str:
    return host.make_vm(str(tmp_path / "vms" / "web" / "web.vmx"))


@pytest.fixture
def booted(vmx: str, vmrun: Vmrun, clock: FakeClock) -> str:
    """A running VM whose Tools are up."""
    assert vmrun("start", vmx, "nogui").exit_code == 0
    clock.advance(BOOT_DELAY)
    return vmx
