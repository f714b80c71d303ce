"""What one simulated vmrun command works with: host home, knobs, clock, time budget.

``Call`` bundles the invocation with the simulated host; ``Budget`` is the only
way the simulator waits (latency, boot, hangs): it sleeps through the injected
clock in bounded steps and raises ``CommandTimeout`` once the caller's timeout
is spent, so an in-process caller on a ``FakeClock`` never waits for real. The
helpers here open a VM's .vmx the way vmrun does; they never change state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import CommandTimeout, VmxError
from toolkit.host.clock import Clock
from toolkit.host.runner import redact
from toolkit.vmware.vmx import Vmx
from vmtk_sim import messages as msg
from vmtk_sim.argv import Invocation
from vmtk_sim.knobs import Knobs, Product
from vmtk_sim.state import HostState, Power, SimHome, VmRecord, vm_key

SLEEP_STEP_SECONDS = 0.5  # a killed vmrun-sim never outlives its caller's timeout by more


class Budget:
    """The caller's timeout, spent through the clock (``None``: wait forever, like vmrun)."""

    def __init__(self, clock: Clock, timeout: float | None, argv: tuple[str, ...]) -> None:
        self._clock = clock
        self._timeout = timeout
        self._argv = argv
        self._started = clock.monotonic()

    def elapsed(self) -> float:
        return self._clock.monotonic() - self._started

    def remaining(self) -> float | None:
        return None if self._timeout is None else self._timeout - self.elapsed()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` in steps; raise ``CommandTimeout`` when the budget runs out first."""
        end = self._clock.monotonic() + seconds
        while (left := end - self._clock.monotonic()) > 0:
            remaining = self.remaining()
            if remaining is not None and remaining <= 0:
                self.expire()
            step = min(left, SLEEP_STEP_SECONDS)
            self._clock.sleep(step if remaining is None else min(step, remaining))

    def hang(self) -> None:
        """Block like a stuck vmrun: until the caller's timeout, or forever without one."""
        while True:
            self.sleep(SLEEP_STEP_SECONDS)

    def expire(self) -> None:
        raise CommandTimeout(redact(self._argv), self._timeout or 0.0)


@dataclass(frozen=True, slots=True)
class Call:
    home: SimHome
    knobs: Knobs
    clock: Clock
    budget: Budget
    inv: Invocation

    @property
    def player(self) -> bool:
        """Player's feature set: the product is Player, or vmrun was told ``-T player``."""
        return self.knobs.product is Product.PLAYER or self.inv.host_type == "player"

    def now(self) -> float:
        return self.clock.time()

    def tools_running(self, vm: VmRecord) -> bool:
        """Tools answer once the guest has booted (``boot_delay`` after power-on)."""
        if vm.power not in (Power.RUNNING, Power.PAUSED) or vm.started_at is None:
            return False
        return self.now() - vm.started_at >= self.knobs.boot_delay


def read_vmx(path: str) -> Vmx:
    """The VM's configuration as vmrun opens it, or vmrun's refusal."""
    if not path.lower().endswith(".vmx"):
        raise msg.refusal(msg.UNKNOWN_SUFFIX, vmx=path)
    if not os.path.isfile(path):
        raise msg.refusal(msg.CANNOT_BE_FOUND, vmx=path)
    try:
        # Duplicate keys make VMware refuse the file too (vmctl, measured on WS 17).
        return Vmx.parse(Path(path).read_bytes(), source=path)
    except (VmxError, UnicodeDecodeError) as exc:
        raise msg.refusal(msg.CANNOT_READ_CONFIG, vmx=path) from exc


def open_vm(state: HostState, path: str) -> VmRecord:
    """The record of an existing, readable VM (created on first sight)."""
    read_vmx(path)
    return state.record(vm_key(path))


def running_vm(call: Call, state: HostState, path: str) -> VmRecord:
    """A powered-on VM (paused counts), else vmrun's not-powered-on answer."""
    vm = open_vm(state, path)
    if vm.power not in (Power.RUNNING, Power.PAUSED):
        raise msg.refusal(msg.NOT_POWERED_ON, vmx=path)
    return vm


def disk_path(vmx_path: str, file_name: str) -> str:
    """A disk ``fileName`` from the .vmx as a host path (relative names: the VM's dir)."""
    return os.path.join(os.path.dirname(os.path.abspath(vmx_path)), file_name)


@dataclass(frozen=True, slots=True)
class Reply:
    """What vmrun printed (without the final newline) and its exit status."""

    text: str = ""
    exit_code: int = msg.EXIT_OK
