"""A lab of throwaway VMs for tests: a configured host, a template, and clones of it.

The Python API behind the pytest plugin, usable on its own::

    with Lab.open(LabConfig(workdir="/tmp/lab")) as lab, lab.vm(VmSpec(memory_mb=1024)) as vm:
        vm.guest.sh("uname -a").check()

Without ``vmrun`` the host is the simulator (``SimHost``) with its state under
the work directory. Each VM is a clone of the template (linked; a full copy on
Player), started, with VMware Tools waited for; it is destroyed afterwards
(kept instead when it failed and ``keep_failed`` is set). Opening a lab first
sweeps clones whose owning process is gone. This module must not know pytest
and does not read environment variables: the caller passes every setting.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from toolkit.errors import ConfigError, ToolkitError
from toolkit.host.clock import Clock, SystemClock
from toolkit.host.runner import LocalRunner, Runner
from toolkit.vmware.devices import set_cpus, set_memory_mb
from toolkit.vmware.vmrun import GuestCredentials, HostType, Vmrun
from toolkit.vmware.vmx import read_vmx, write_vmx
from vmtk_harness.clones import CloneStore, clone_name
from vmtk_harness.guest import RecordedGuest, Transcript
from vmtk_harness.template import Template, prepare

if TYPE_CHECKING:
    from vmtk_sim import SimHost

log = logging.getLogger(__name__)
SIM_USER = "vcap"
SIM_PASSWORD = "c1oudc0w"
SIM_BINARY = "vmrun-sim"
TOOLS_INTERVAL = 2.0
SIM_TOOLS_INTERVAL = 0.1  # simulated boots take a fraction of a second
SPEC_KEYS = {"memory": "memory_mb", "memory_mb": "memory_mb", "cpus": "cpus"}


@dataclass(frozen=True, slots=True)
class LabConfig:
    """Where and how test VMs are made. ``vmrun=None`` means the simulator."""

    workdir: str
    vmrun: str | None = None
    template: str | None = None
    guest_user: str = SIM_USER
    guest_password: str = field(default=SIM_PASSWORD, repr=False)
    host_type: HostType | None = None
    worker: str = "main"
    keep_failed: bool = False
    boot_timeout: float = 300.0
    tools_interval: float | None = None  # None: 2 s on a real host, 0.1 s on the simulator

    @property
    def uses_simulator(self) -> bool:
        return self.vmrun is None


@dataclass(frozen=True, slots=True)
class VmSpec:
    """How a test VM differs from its template."""

    memory_mb: int | None = None
    cpus: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> VmSpec:
        """From ``{"memory": 1024, "cpus": 2}`` (pytest's indirect parameters)."""
        unknown = sorted(set(params) - set(SPEC_KEYS))
        if unknown:
            raise ConfigError([f"unknown VM setting {name!r}" for name in unknown], subject="vm parameters")
        return cls(**{SPEC_KEYS[key]: int(str(value)) for key, value in params.items()})


@dataclass(frozen=True, slots=True)
class LabVm:
    """A test VM: its name, .vmx path, recorded guest and the vmrun driver that runs it."""

    name: str
    vmx: str
    guest: RecordedGuest
    vmrun: Vmrun

    @property
    def transcript(self) -> Transcript:
        return self.guest.transcript


class Lab:
    """The host the test VMs live on (see module docstring)."""

    def __init__(
        self, config: LabConfig, *, runner: Runner, vmrun: Vmrun, clock: Clock, sim: SimHost | None = None
    ) -> None:
        self.config = config
        self.runner = runner
        self.vmrun = vmrun
        self.clock = clock
        self.sim = sim
        self.clones = CloneStore(runner, vmrun, runner.path.join(config.workdir, "clones"), clock=clock)
        self._template: Template | None = None

    @classmethod
    def open(cls, config: LabConfig, *, clock: Clock | None = None) -> Lab:
        """Connect to the host (or start the simulator) and sweep what dead processes left."""
        clock = clock or SystemClock()
        if config.uses_simulator:
            lab = _simulated(config, clock)
        else:
            runner = LocalRunner(clock=clock)
            vmrun = Vmrun(runner, binary=config.vmrun or "", host_type=config.host_type, clock=clock)
            lab = cls(config, runner=runner, vmrun=vmrun, clock=clock)
        lab.vmrun.list_running()  # fails early on a wrong vmrun, and detects a Player-only host
        lab.sweep()
        return lab

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @property
    def template(self) -> Template:
        """The template, made ready on first use (imported and snapshotted at most once)."""
        if self._template is None:
            source = self.config.template or self._default_template()
            self._template = prepare(self.runner, self.vmrun, self.config.workdir, source)
        return self._template

    @property
    def credentials(self) -> GuestCredentials:
        return GuestCredentials(self.config.guest_user, self.config.guest_password)

    def clone(self, spec: VmSpec = VmSpec(), *, label: str = "vm") -> LabVm:
        """A powered-off clone of the template, changed as ``spec`` says."""
        template = self.template
        name = clone_name(self.config.worker, label)
        try:
            vmx = self.clones.create(template.vmx, name, snapshot=template.snapshot)
            _apply(self.runner, vmx, spec)
        except BaseException:
            with contextlib.suppress(ToolkitError):  # the first error is the one to report
                self.clones.destroy(name)
            raise
        guest = RecordedGuest(self.vmrun, vmx, self.credentials, Transcript(name, vmx), clock=self.clock)
        return LabVm(name, vmx, guest, self.vmrun)

    def boot(self, vm: LabVm) -> None:
        """Start ``vm`` and wait until VMware Tools answer in its guest."""
        vm.guest.record("power on", vm.vmx, lambda: self.vmrun.start(vm.vmx))
        timeout, interval = self.config.boot_timeout, self._tools_interval()
        vm.guest.record(
            "wait_for_tools",
            f"up to {timeout:g} s",
            lambda: vm.guest.raw.wait_for_tools(timeout=timeout, interval=interval),
        )

    def finish(self, vm: LabVm, *, failed: bool) -> bool:
        """Destroy ``vm``, or keep it when it failed and ``keep_failed`` is set; True if kept."""
        if failed and self.config.keep_failed:
            self.clones.release(vm.name)
            vm.transcript.notes.append(f"kept for inspection: {vm.vmx}")
            log.warning("kept %s for inspection (delete it with: vmrun deleteVM %s)", vm.name, vm.vmx)
            return True
        self.clones.destroy(vm.name)
        return False

    @contextlib.contextmanager
    def vm(self, spec: VmSpec = VmSpec(), *, label: str = "vm") -> Iterator[LabVm]:
        """A booted VM for the ``with`` block, finished when the block ends."""
        vm = self.clone(spec, label=label)
        failed = True
        try:
            self.boot(vm)
            yield vm
            failed = False
        finally:
            self.finish(vm, failed=failed)

    def sweep(self) -> list[str]:
        """Destroy clones whose owning process is gone (a killed pytest worker's)."""
        return self.clones.sweep()

    def _tools_interval(self) -> float:
        if self.config.tools_interval is not None:
            return self.config.tools_interval
        return TOOLS_INTERVAL if self.sim is None else SIM_TOOLS_INTERVAL

    def _default_template(self) -> str:
        if self.sim is None:
            raise ConfigError(["no template: give a .vmx or a stemcell"], subject="vmtk lab")
        from vmtk_harness.sim import default_template

        return default_template(self.sim, self.runner.path.join(self.config.workdir, "templates"))


def _simulated(config: LabConfig, clock: Clock) -> Lab:
    from vmtk_harness.sim import open_simulator

    sim = open_simulator(config.workdir, config.guest_user, config.guest_password, clock=clock)
    runner = sim.runner()
    vmrun = Vmrun(runner, binary=SIM_BINARY, host_type=config.host_type, clock=clock)
    return Lab(config, runner=runner, vmrun=vmrun, clock=clock, sim=sim)


def _apply(runner: Runner, vmx: str, spec: VmSpec) -> None:
    if spec == VmSpec():
        return
    config = read_vmx(runner, vmx)
    if spec.memory_mb is not None:
        set_memory_mb(config, spec.memory_mb)
    if spec.cpus is not None:
        set_cpus(config, spec.cpus)
    write_vmx(runner, vmx, config)
