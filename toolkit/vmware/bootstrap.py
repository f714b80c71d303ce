"""Run a provisioning script inside a stemcell VM, the way BOSH bootstrap does.

One procedure serves both the CPI's ``cloud_properties.bootstrap`` and
``vmtk bootstrap``: start the VM if it is off, wait for the ready process, copy
the script in, run it with the interpreter and return its captured result.

It must not stop the VM, edit the .vmx or log the guest password; a failing
script is reported as a result (the caller decides), not raised.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from toolkit.host.clock import Clock
from toolkit.vmware.guest import Guest, GuestOs, GuestResult
from toolkit.vmware.vmrun import GuestCredentials, Vmrun

__all__ = ["BootstrapSpec", "Step", "run_bootstrap"]

log = logging.getLogger(__name__)

OutputSink = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class BootstrapSpec:
    """What to run and how to know the guest is ready (the reference's keys)."""

    script: str
    script_path: str
    interpreter: str
    user: str
    password: str = field(repr=False)
    ready_process: str | None  # None: ready once VMware Tools answer guest operations
    min_wait: float = 0.0
    max_wait: float = 600.0
    timeout: float = 3600.0

    @property
    def credentials(self) -> GuestCredentials:
        return GuestCredentials(self.user, self.password)

    @property
    def guest_os(self) -> GuestOs:
        # A Windows interpreter path (C:\...\powershell.exe) means a Windows guest.
        windows = ":" in self.interpreter[:3] or self.interpreter.lower().endswith(".exe")
        return GuestOs.WINDOWS if windows else GuestOs.LINUX


class Step(str, enum.Enum):
    """What ``run_bootstrap`` is doing, as told to its ``on_step`` callback."""

    START = "start"  # powering the VM on (it was off)
    WAIT = "wait"  # waiting for the guest to be ready (up to max_wait)
    COPY = "copy"  # copying the script in
    RUN = "run"  # the script runs; its output follows


def run_bootstrap(
    vmrun: Vmrun,
    vmx: str,
    spec: BootstrapSpec,
    *,
    clock: Clock,
    on_output: OutputSink | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> GuestResult:
    """Start ``vmx`` if needed, wait until the guest is ready, then run the script."""
    tell = on_step or (lambda step: None)
    if not vmrun.is_running(vmx):
        log.info("bootstrap: starting %s", vmx)
        tell(Step.START)
        vmrun.start(vmx)
    guest = Guest(vmrun, vmx, spec.credentials, clock=clock, os=spec.guest_os)
    tell(Step.WAIT)
    _wait_ready(guest, spec, vmx)
    tell(Step.COPY)
    guest.put_bytes(spec.script.encode("utf-8"), spec.script_path)
    log.info("bootstrap: running %s %s", spec.interpreter, spec.script_path)
    tell(Step.RUN)
    return guest.run(spec.interpreter, spec.script_path, timeout=spec.timeout, on_output=on_output)


def _wait_ready(guest: Guest, spec: BootstrapSpec, vmx: str) -> None:
    if spec.ready_process is None:
        # Tools answering a process listing with these credentials: guest operations work.
        log.info("bootstrap: waiting for VMware Tools in %s", vmx)
        guest.wait_for_guest_operations(min_wait=spec.min_wait, max_wait=spec.max_wait)
        return
    log.info("bootstrap: waiting for process %r in %s", spec.ready_process, vmx)
    guest.wait_for_process(spec.ready_process, min_wait=spec.min_wait, max_wait=spec.max_wait)
