"""The CLI under test, wired to an in-process simulated VMware host.

``vmtk(...)`` invokes the real click group with an ``App`` whose runner is a
``SimHost`` runner on a ``FakeClock``: no real processes, no real sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.cli.expect import assert_ok
from toolkit.host.clock import FakeClock
from vmtk_cli.app import App, Settings
from vmtk_cli.main import cli
from vmtk_sim import SimHost

SIM_USER = "vcap"
SIM_PASSWORD = "c1oudc0w"  # the simulator's default guest password (vmtk_sim.knobs)

Vmtk = Callable[..., Result]


@pytest.fixture
def sim(tmp_path: Path) -> SimHost:
    host = SimHost(tmp_path / "sim-home", clock=FakeClock())
    host.configure(boot_delay=0.0)
    return host


@pytest.fixture
def app(sim: SimHost) -> App:
    return App(
        runner=sim.runner(),
        clock=sim.clock,
        settings=Settings(vmrun="vmrun-sim", guest_user=SIM_USER),
        environ={"VMTK_GUEST_PASSWORD": SIM_PASSWORD},
    )


@pytest.fixture
def vmtk(app: App) -> Vmtk:
    """Run ``vmtk ARGS...`` in-process against the simulator; returns click's Result."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), obj=app, input=input, env=env)

    return invoke


@pytest.fixture
def vmx(sim: SimHost, tmp_path: Path) -> str:
    """A powered-off VM on the simulated host."""
    return sim.make_vm(str(tmp_path / "vms" / "one" / "one.vmx"))


@pytest.fixture
def running_vmx(vmtk: Vmtk, vmx: str) -> str:
    assert_ok(vmtk("vm", "start", vmx))
    return vmx
