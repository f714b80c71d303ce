"""The in-process simulator: ``SimHost`` and its ``Runner``.

``SimHost(home, clock=...)`` is a simulated VMware host for tests: its
``runner()`` answers ``vmrun-sim``/``vmrun``/``ovftool-sim`` command lines with
the same model code the console scripts use (honouring ``timeout`` through the
clock, so a ``FakeClock`` never sleeps for real), and touches files like a
``LocalRunner``. ``vm()`` gives read-only views of a VM for assertions. It never
mocks the toolkit: callers drive it through the real ``Runner`` protocol.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from toolkit.errors import CommandTimeout
from toolkit.host.clock import Clock, SystemClock
from toolkit.host.runner import Completed, LocalRunner, OutputSink, redact
from vmtk_sim.argv import Invocation
from vmtk_sim.context import Budget, Call
from vmtk_sim.guestops import visible_processes
from vmtk_sim.makevm import make_vm
from vmtk_sim.ovftool_call import run_ovftool_sim
from vmtk_sim.state import GuestProc, Power, SimHome, vm_key
from vmtk_sim.vmrun_model import run_vmrun

VMRUN_NAMES = ("vmrun-sim", "vmrun")
OVFTOOL_NAMES = ("ovftool-sim",)


class AgentStatus(str, enum.Enum):
    OFF = "off"  # the VM is not running
    BOOTING = "booting"  # running, guest not booted yet
    RUNNING = "running"
    FAILED = "failed"  # the agent rejected its settings; see ``reason``


@dataclass(frozen=True, slots=True)
class AgentView:
    status: AgentStatus
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProcessView:
    pid: int
    owner: str
    command: str
    host_pid: int = 0


@dataclass(frozen=True, slots=True)
class VmView:
    """A VM as the simulated host sees it right now."""

    path: str
    id: str
    power: Power
    tools: str  # "running" or "unknown", as checkToolsState answers
    agent: AgentView
    processes: tuple[ProcessView, ...]
    guest_root: Path
    started_at: float | None
    spelling: str


class SimHost:
    """A simulated VMware host whose state lives under ``home``."""

    def __init__(
        self,
        home: str | Path,
        *,
        clock: Clock | None = None,
        vmrun_names: Sequence[str] = VMRUN_NAMES,
        ovftool_names: Sequence[str] = OVFTOOL_NAMES,
    ) -> None:
        self.home = SimHome(home)
        self.clock = clock or SystemClock()
        self.vmrun_names = tuple(vmrun_names)
        self.ovftool_names = tuple(ovftool_names)

    def runner(self) -> SimRunner:
        return SimRunner(self)

    def configure(self, **knobs: Any) -> None:
        """Merge knobs into ``sim.json`` (``product``, ``boot_delay``, ``latency``, ``faults``...)."""
        data = self.home.knobs_json()
        data.update({k: (v.value if isinstance(v, enum.Enum) else v) for k, v in knobs.items()})
        self.home.write_knobs(data)

    def calls(self) -> list[dict[str, Any]]:
        return self.home.calls()

    def make_vm(self, path: str, *, memory: int = 512, disk_mb: int = 64, cdrom_iso: str | None = None) -> str:
        """Write a small powered-off VM (vmx + monolithicSparse disk); returns the .vmx path."""
        return make_vm(path, memory=memory, disk_mb=disk_mb, cdrom_iso=cdrom_iso)

    def vm(self, vmx: str) -> VmView:
        knobs = self.home.knobs()
        with self.home.transaction() as state:
            record = state.record(vm_key(vmx))
            call = Call(self.home, knobs, self.clock, Budget(self.clock, None, ()), Invocation("", ()))
            tools = call.tools_running(record)
            procs = visible_processes(call, record) if tools else []
        return VmView(
            path=vmx,
            id=record.id,
            power=record.power,
            tools="running" if tools else "unknown",
            agent=_agent(record.power, tools, record.agent_reason),
            processes=tuple(_process(p) for p in procs),
            guest_root=self.home.guest_root(record.id),
            started_at=record.started_at,
            spelling=record.spelling,
        )


def _agent(power: Power, tools: bool, reason: str | None) -> AgentView:
    if power is Power.OFF or power is Power.SUSPENDED:
        return AgentView(AgentStatus.OFF)
    if reason is not None:
        return AgentView(AgentStatus.FAILED, reason)
    return AgentView(AgentStatus.RUNNING if tools else AgentStatus.BOOTING)


def _process(proc: GuestProc) -> ProcessView:
    return ProcessView(proc.pid, proc.owner, proc.cmd, proc.host_pid)


class SimRunner(LocalRunner):
    """A ``Runner`` on the simulated host: simulated tools by name, real files otherwise.

    The simulated host's files are this machine's files, so everything but
    ``path`` (always POSIX, like the hosts it stands in for) and ``run`` is
    ``LocalRunner``'s.
    """

    def __init__(self, host: SimHost) -> None:
        super().__init__(clock=host.clock)
        self._host = host

    @property
    def path(self) -> ModuleType:
        return posixpath

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        stdin: bytes | None = None,
        on_output: OutputSink | None = None,
        detach: bool = False,
    ) -> Completed:
        # ``detach``: simulated VMs live in the state dir, so they outlive any caller already.
        name = posixpath.basename(argv[0]) if argv else ""
        if name not in self._host.vmrun_names + self._host.ovftool_names:
            return super().run(argv, timeout=timeout, stdin=stdin, on_output=on_output, detach=detach)
        shown = redact(argv)
        clock = self._host.clock
        started = clock.monotonic()
        try:
            code, out, err = self._simulate(name, argv, timeout, on_output)
        except CommandTimeout:
            raise CommandTimeout(shown, timeout) from None
        return Completed(shown, code, out, err, clock.monotonic() - started)

    def _simulate(
        self, name: str, argv: Sequence[str], timeout: float, on_output: OutputSink | None
    ) -> tuple[int, str, str]:
        home, clock = self._host.home, self._host.clock
        if name in self._host.ovftool_names:
            return run_ovftool_sim(home, argv[1:], clock=clock, timeout=timeout, on_output=on_output)
        code, out = run_vmrun(home, argv[1:], clock=clock, timeout=timeout)
        if on_output is not None and out:
            on_output(out)
        return code, out, ""
