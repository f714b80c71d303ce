"""Long waits say what they wait for and for how long: a redrawn line on a terminal, a line at intervals elsewhere."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from toolkit.host.clock import FakeClock
from vmtk_cli.waiting import ERASE_LINE, Waiting
from vmtk_sim import SimHost

BIN = Path(sys.executable).parent


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_a_line_comes_every_interval_and_nothing_for_a_short_wait() -> None:
    clock, out = FakeClock(), io.StringIO()
    display = Waiting(out, clock, tty=False, interval=10.0)
    display.step("Waiting for VMware Tools in /v/a.vmx", limit=300)
    clock.advance(4)
    display.tick()
    assert out.getvalue() == ""  # a short wait stays quiet
    for _ in range(3):
        clock.advance(10)
        display.tick()
    assert out.getvalue().splitlines() == [
        "Waiting for VMware Tools in /v/a.vmx ... 14 s (up to 300 s)",
        "Waiting for VMware Tools in /v/a.vmx ... 24 s (up to 300 s)",
        "Waiting for VMware Tools in /v/a.vmx ... 34 s (up to 300 s)",
    ]


def test_on_a_terminal_the_line_is_drawn_at_once_redrawn_and_erased() -> None:
    clock, out = FakeClock(), Tty()
    display = Waiting(out, clock, tty=True, interval=10.0)
    display.step("Importing image into vms/p")
    display.percent(40)
    clock.advance(3)
    display.tick()
    display.pause()
    assert out.getvalue() == (
        f"{ERASE_LINE}Importing image into vms/p ... 0 s"
        f"{ERASE_LINE}Importing image into vms/p ... 40 %, 0 s"
        f"{ERASE_LINE}Importing image into vms/p ... 40 %, 3 s"
        f"{ERASE_LINE}"
    )


def test_a_new_step_says_what_is_waited_for_now() -> None:
    clock, out = FakeClock(), io.StringIO()
    display = Waiting(out, clock, tty=False, interval=1.0)
    display.step("Starting /v/a.vmx")
    clock.advance(1)
    display.tick()
    display.step("Waiting for process 'bosh-agent' in /v/a.vmx", limit=600)
    clock.advance(2)
    display.tick()
    assert out.getvalue().splitlines() == [
        "Starting /v/a.vmx ... 1 s",
        "Waiting for process 'bosh-agent' in /v/a.vmx ... 2 s (up to 600 s)",
    ]


@pytest.mark.real_process
def test_guest_wait_on_a_terminal_shows_what_it_waits_for(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    home = tmp_path / "sim-home"
    sim = SimHost(home)
    sim.configure(boot_delay=3)
    vmx = sim.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMTK_")}
    env.update({"VMRUN_SIM_HOME": str(home), "VMTK_VMRUN": str(BIN / "vmrun-sim")})
    child = pexpect.spawn(str(BIN / "vmtk"), ["vm", "start", vmx], env=env, encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    child = pexpect.spawn(str(BIN / "vmtk"), ["guest", "wait", vmx], env=env, encoding="utf-8", timeout=60)
    child.expect_exact(f"Waiting for VMware Tools in {vmx} ... 1 s (up to 300 s)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and child.before.endswith(ERASE_LINE)
