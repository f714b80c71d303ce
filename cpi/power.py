"""Power operations the CPI composes from vmrun: start-and-wait, cold edits, reboot.

Every wait is bounded by the CPI config (``vm_start_max_wait_seconds``,
``vm_soft_shutdown_max_wait_seconds``) and goes through the injected Clock.
``vmrun stop soft`` needs VMware Tools in the guest and hangs without them, so
a soft stop is tried only when Tools answer "running", and always with the
soft-shutdown wait as its timeout, falling back to a hard stop. Polls are few:
each vmrun run costs a real host hundreds of milliseconds. This module never
edits files.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from toolkit.errors import RunnerError, VmNotRunningError, VmrunError
from toolkit.host.clock import Clock, wait_until
from toolkit.vmware.vmrun import StopMode, ToolsState, Vmrun

log = logging.getLogger(__name__)

# Each poll is a vmrun run (hundreds of ms on a real host): start soon after power-on,
# then back off, so a 60 s boot costs about 11 polls instead of 30.
TOOLS_POLL_SECONDS = 1.0
TOOLS_POLL_MAX_SECONDS = 8.0


class Power:
    def __init__(self, vmrun: Vmrun, clock: Clock, *, start_wait: float, soft_stop_wait: float) -> None:
        self.vmrun = vmrun
        self.clock = clock
        self.start_wait = start_wait
        self.soft_stop_wait = soft_stop_wait

    def start_and_wait(self, vmx: str) -> None:
        """Start headless and wait until VMware Tools run in the guest (the guest has booted)."""
        self.vmrun.start(vmx)
        wait_until(
            lambda: self.vmrun.tools_state(vmx) is ToolsState.RUNNING,
            what=f"VMware Tools in '{vmx}'",
            timeout=self.start_wait,
            clock=self.clock,
            interval=TOOLS_POLL_SECONDS,
            max_interval=TOOLS_POLL_MAX_SECONDS,
        )

    def stop_hard(self, vmx: str) -> None:
        """Power off now; a VM that is already off is fine."""
        with contextlib.suppress(VmNotRunningError):
            self.vmrun.stop(vmx, StopMode.HARD)

    def stop(self, vmx: str) -> bool:
        """Shut down (soft when Tools run, else hard); ``True`` if the VM was running."""
        if self.vmrun.tools_state(vmx) is ToolsState.RUNNING:
            try:
                self.vmrun.stop(vmx, StopMode.SOFT, timeout=self.soft_stop_wait)
                return True
            except VmNotRunningError:
                return False
            except (VmrunError, RunnerError) as exc:
                log.warning("soft stop of %s failed, stopping hard: %s", vmx, str(exc).splitlines()[0])
        try:
            self.vmrun.stop(vmx, StopMode.HARD)
        except VmNotRunningError:
            return False
        return True

    @contextlib.contextmanager
    def stopped(self, vmx: str, *, start_after: bool = False) -> Iterator[None]:
        """Hold the VM powered off for a .vmx edit, then start it again if it was running.

        A failed edit still restarts the VM (BOSH must never find it off); a start
        failure is then only logged, so the edit's error is the one reported.
        """
        was_running = self.stop(vmx)
        try:
            yield
        except BaseException:
            if was_running or start_after:
                self._start_quietly(vmx)
            raise
        if was_running or start_after:
            self.vmrun.start(vmx)

    def _start_quietly(self, vmx: str) -> None:
        try:
            self.vmrun.start(vmx)
        except (VmrunError, RunnerError) as exc:
            log.error("could not restart %s after a failed change: %s", vmx, str(exc).splitlines()[0])


@contextlib.contextmanager
def paused(vmrun: Vmrun | None, vmx: str | None) -> Iterator[None]:
    """Freeze a running VM (no guest I/O) for the duration; a VM that is off needs nothing."""
    if vmrun is None or vmx is None or not vmrun.is_running(vmx):
        yield
        return
    vmrun.pause(vmx)
    try:
        yield
    finally:
        vmrun.unpause(vmx)
