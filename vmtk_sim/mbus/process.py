"""One VM's simulated agent as a process: wait for boot, serve mbus, end with the VM.

``vmrun-sim start`` launches ``python -m vmtk_sim.mbus <vmx>`` when the
``mbus_agent`` knob is on. The process reads its settings from the VM's first
CD-ROM (as the agent does at boot), waits until the guest has booted
(``boot_delay``), then serves until its VM is powered off, reset, or gone from
the simulator's state (the simulator also signals it; the watch makes sure a
removed simulator home never leaves an agent behind). What it does is logged
in the guest, ``/var/vcap/bosh/log/current``; the process has no other output.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.host.clock import Clock, SystemClock
from toolkit.vmware.devices import Bus, hard_disks
from vmtk_sim import agent
from vmtk_sim.context import disk_path
from vmtk_sim.mbus.actions import SimAgent, VmFacts
from vmtk_sim.mbus.blobs import BlobStore
from vmtk_sim.mbus.bosh_agent import RealAgent
from vmtk_sim.mbus.endpoint import blobstore_path, endpoint
from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import GuestFs
from vmtk_sim.mbus.server import LOOPBACK, AgentServer
from vmtk_sim.state import Power, SimHome, VmRecord, vm_key
from vmtk_sim.variables import dhcp_address
from vmtk_sim.vmfiles import decode_config

LOG = "/var/vcap/bosh/log/current"
WATCH_SECONDS = 0.5


class AgentProcess:
    """The agent of the VM at ``vmx_path`` in simulator home ``home``, as it was powered on."""

    def __init__(self, home: SimHome, vmx_path: str, clock: Clock) -> None:
        self.home, self.key, self.clock = home, vm_key(vmx_path), clock
        record = home.snapshot().vms[self.key]
        self.vm_id, self.started_at, self.vmx_path = record.id, record.started_at, vmx_path
        self.guest = GuestFs(home.guest_root(record.id))

    def run(self) -> int:
        """Serve until the VM stops; 1 when the agent cannot start (the reason is in its log)."""
        try:
            settings = agent.settings_of(self.vmx_path, decode_config(self._record().config or ""))
            listener = endpoint(settings)
            if not self._wait_for_boot():
                return 0
            binary = self.home.knobs().bosh_agent
            if binary:
                return self._run_real(RealAgent(self.guest, binary, settings, self.clock))
            blobs = BlobStore(self.guest.host(blobstore_path(settings)))
            self.guest.prepare()
            actions = SimAgent(self.guest, blobs, settings, self.facts, self.clock)
            refusal = actions.disks.startup_problem()
            if refusal:
                raise AgentActionError(refusal)
            server = AgentServer(listener, actions, self.log)
        except (ToolkitError, OSError) as exc:
            self.log(f"agent not started: {exc}")
            return 1
        self.log(f"serving https mbus on {LOOPBACK}:{listener.port}")
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
        threading.Thread(target=self._watch, args=(server,), daemon=True).start()
        with server:
            server.serve_forever(poll_interval=WATCH_SECONDS)
        server.agent.tasks.shutdown()
        server.agent.disks.flush_all()  # the VM powers off: what the guest wrote stays on its disks
        self.log("VM stopped: agent ended")
        return 0

    def _run_real(self, real: RealAgent) -> int:
        """Run the real agent until the VM stops (or this process is told to end), then end it."""
        ending = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: ending.set())
        self.log(f"starting the bosh-agent {real.binary}")
        try:
            while not ending.is_set() and self._alive():
                real.keep_running()
                ending.wait(WATCH_SECONDS)
        finally:
            real.stop()
        self.log("VM stopped: agent ended")
        return 0

    def facts(self) -> VmFacts:
        vmx = decode_config(self._record().config or "")
        scsi0 = [d for d in hard_disks(vmx) if d.slot.bus is Bus.SCSI and d.slot.controller == 0 and d.file_name]
        data = {str(d.slot.unit): self.home.disk_data(disk_path(self.vmx_path, d.file_name)) for d in scsi0}
        return VmFacts(data, dhcp_address(self.vm_id))

    def log(self, line: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock.time()))
        try:
            self.guest.append_log(LOG, f"{stamp} [simulated agent] {line}")
        except (OSError, ToolkitError):
            pass  # the guest is gone with its VM: nobody is left to read the line

    def _record(self) -> VmRecord:
        return self.home.snapshot().vms[self.key]

    def _alive(self) -> bool:
        """The VM is still the one this agent booted in (same power-on, not removed)."""
        try:
            if not self.home.state_file.exists():
                return False
            record = self.home.snapshot().vms.get(self.key)
        except (OSError, ToolkitError):
            return False
        return (
            record is not None
            and record.power in (Power.RUNNING, Power.PAUSED)
            and record.started_at == self.started_at
        )

    def _wait_for_boot(self) -> bool:
        boot_delay = self.home.knobs().boot_delay
        while self.clock.time() - (self.started_at or 0.0) < boot_delay:
            if not self._alive():
                return False
            self.clock.sleep(min(WATCH_SECONDS, boot_delay))
        return self._alive()

    def _watch(self, server: AgentServer) -> None:
        while self._alive():
            self.clock.sleep(WATCH_SECONDS)
        server.shutdown()


def main(argv: list[str], home: Path) -> int:
    return AgentProcess(SimHome(home), argv[0], SystemClock()).run()
