"""Where the CPI lifecycle suite runs: the in-process simulator, over SSH, through the executable, or a real host.

The simulator variant always runs. The ssh variant runs the same CPI in process
with a ``vmrun.ssh_tunnel`` to the test OpenSSH server on 127.0.0.1
(``tests/support/sshd.py``), behind which ``vmrun-sim`` is the VMware host
(``tests/support/sshsim.py``): every vmrun run and every store file goes
through the CPI's ``SshRunner`` (exec + SFTP), one connection per request as in
the ``bosh-vmrun-cpi`` process; the variant is not ``real_process``, so a vmrun
run that missed SSH and spawned locally fails the test. The simulator's files are local, so tests still
inspect the store and the simulator's state; it is skipped when no sshd or no
paramiko is installed. The exe variant sends each request to a fresh
``bosh-vmrun-cpi <config.json>`` process, as the bosh CLI does
(``tests/cpi/exe.py`` checks exit code, stdout and log on every call), its
config on disk naming the installed ``vmrun-sim`` and ``VMRUN_SIM_HOME`` in its
environment: the CPI, its clock and the simulated host are all out of process
(``boot_delay`` 0, real time), and the test's ``SimHost`` reads the same home
for its own view (``vmrun list``, VM state, faults in ``sim.json``, run counts).
It is skipped when the console scripts are not installed. The real variant
runs only when both of these are set (otherwise it is reported as skipped,
with the reason):

- ``VMTK_REAL_VMRUN``: path to vmrun on this machine;
- ``VMTK_REAL_STEMCELL``: a real vSphere stemcell ``image`` (or the full stemcell
  ``.tgz``) whose guest boots with VMware Tools.

Optional: ``VMTK_REAL_HOST_TYPE`` (``ws`` | ``fusion`` | ``player``; default:
detected), ``VMTK_REAL_STORE`` (a directory on a disk VMware can use; each test
gets a fresh subdirectory of it; default: pytest's temporary directory) and
``VMTK_REAL_NETWORK`` (the vnet of the ``custom`` network the tests ask for;
default ``vmnet8``; ``nat``/``hostonly`` networks carry no vnet). Example::

    VMTK_REAL_VMRUN=/usr/bin/vmrun VMTK_REAL_STEMCELL=~/bosh-stemcell-vsphere.tgz \\
        .venv/bin/python -m pytest tests/cpi/test_lifecycle.py tests/cpi/test_lifecycle_disks.py -k real -rs

A real host uses a ``LocalRunner`` and the ``SystemClock``, waits up to
``REAL_START_WAIT`` seconds for a guest's Tools, and imports the stemcell with
``create_stemcell`` for every template a test asks for (one import costs tens
of seconds with a real image). Whatever a test leaves (running VMs, clones,
templates, disks) is stopped and deleted at teardown, even when the test fails.

Tests marked ``needs_sim(reason)`` use simulator-only powers (fault injection,
the agent view, counting vmrun runs, templates made by ``make_vm``) and are
skipped on a real host; over SSH and through the executable the simulator has
them all, on its home's files rather than in process. This module chooses
where a test runs; it never changes what the test asserts.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cpi.config import CpiConfig
from cpi.factory import host_runner
from tests.cpi.client import MBUS_SECRET, Cpi, config_mapping, make_config
from tests.cpi.exe import EXECUTABLE, VMRUN_SIM, CpiProcess
from tests.support.sshd import Sshd
from tests.support.sshsim import remote_vmrun
from toolkit.errors import ToolkitError
from toolkit.host.clock import FakeClock, SystemClock
from toolkit.host.runner import LocalRunner, Runner
from toolkit.vmware.vmrun import StopMode, Vmrun

if TYPE_CHECKING:
    from vmtk_sim import SimHost, VmView

log = logging.getLogger(__name__)

REAL_START_WAIT = 900.0  # a cold boot of a real stemcell on a busy laptop, with room to spare
STEMCELL_PROPS = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "real", "disk": 5120}
NOT_CONFIGURED = "real VMware host not configured: set VMTK_REAL_VMRUN and VMTK_REAL_STEMCELL"


@dataclass(frozen=True, slots=True)
class RealSettings:
    """The real host the suite may run against, read from the environment."""

    vmrun: str
    stemcell: str
    host_type: str | None
    store: str | None
    network: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RealSettings | None:
        """None when the real host is not configured: the real variant is then skipped."""
        vmrun, stemcell = env.get("VMTK_REAL_VMRUN", ""), env.get("VMTK_REAL_STEMCELL", "")
        if not (vmrun and stemcell):
            return None
        return cls(
            vmrun=vmrun,
            stemcell=os.path.expanduser(stemcell),
            host_type=env.get("VMTK_REAL_HOST_TYPE") or None,
            store=env.get("VMTK_REAL_STORE") or None,
            network=env.get("VMTK_REAL_NETWORK") or "vmnet8",
        )


class SimulatorOnly(AssertionError):
    """A test used a simulator power on a real host: it needs ``@pytest.mark.needs_sim``."""


class RealHost:
    """The ``Cpi.host`` of a real VMware machine: files and programs through a LocalRunner."""

    simulated = False  # no simulated agent to ask (``Cpi.check_agent``)

    def runner(self) -> LocalRunner:
        return LocalRunner()

    def _refuse(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise SimulatorOnly("a real VMware host has no simulator powers: mark the test needs_sim(reason)")

    calls = configure = make_vm = vm = _refuse


def simulated_cpi(tmp_path: Path, clock: Any = None, **vmrun: Any) -> Cpi:
    """A Cpi on a fresh in-process simulator, Tools up the moment a VM starts."""
    from vmtk_sim import SimHost

    clock = clock or FakeClock()
    host = SimHost(tmp_path / "sim", clock=clock)
    host.configure(boot_delay=0)
    store = tmp_path / "store"
    return Cpi(host, clock, store, make_config(store, **vmrun))


@dataclass(frozen=True, slots=True)
class SshSimHost:
    """The ``Cpi.host`` of the simulator reached over SSH: the CPI's own runner, the simulator's powers."""

    sim: SimHost  # on the SystemClock, as vmrun-sim behind sshd keeps real time
    config: CpiConfig

    def runner(self) -> Runner:
        return host_runner(self.config, self.sim.clock)  # an SshRunner, built as the CPI process builds it

    def calls(self) -> list[dict[str, Any]]:
        return self.sim.calls()

    def configure(self, **knobs: Any) -> None:
        self.sim.configure(**knobs)

    def make_vm(self, path: str, **options: Any) -> str:
        return self.sim.make_vm(path, **options)

    def vm(self, vmx: str) -> VmView:
        return self.sim.vm(vmx)


def ssh_cpi(tmp_path: Path, server: Sshd, **vmrun: Any) -> Cpi:
    """A Cpi whose VMware host is a fresh vmrun-sim behind ``server``, on the SystemClock (SSH is real I/O)."""
    from vmtk_sim import SimHost

    clock = SystemClock()
    sim = SimHost(tmp_path / "sim", clock=clock)
    sim.configure(boot_delay=0)
    store = tmp_path / "store"
    config = make_config(store, **{**remote_vmrun(server, tmp_path / "remote", sim.home.root), **vmrun})
    return Cpi(SshSimHost(sim, config), clock, store, config)


EXE_MISSING = f"the exe variant needs the console scripts {EXECUTABLE.name} and {VMRUN_SIM.name} in {EXECUTABLE.parent}"


def exe_installed() -> bool:
    return EXECUTABLE.exists() and VMRUN_SIM.exists()


def exe_cpi(tmp_path: Path, **vmrun: Any) -> Cpi:
    """A Cpi whose every request is a ``bosh-vmrun-cpi`` process over vmrun-sim processes on a fresh home."""
    from vmtk_sim import SimHost

    clock = SystemClock()  # the CPI process waits on real time; the test only reads the home
    sim = SimHost(tmp_path / "sim", clock=clock)
    sim.configure(boot_delay=0)
    store = tmp_path / "store"
    raw = config_mapping(store, **{"vmrun_bin_path": str(VMRUN_SIM), **vmrun})
    config_path = tmp_path / "cpi.json"
    config_path.write_text(json.dumps(raw), encoding="utf-8")
    # The bosh CLI passes its own environment on; the home and a log level that logs requests are ours.
    env = {**os.environ, "VMRUN_SIM_HOME": str(sim.home.root), "BOSH_LOG_LEVEL": "debug"}
    process = CpiProcess(config_path, env, tmp_path / "cpi.log", never_logged=(MBUS_SECRET,))
    return Cpi(sim, clock, store, CpiConfig.from_mapping(raw), send=process.send)


def real_cpi(settings: RealSettings, image: str, store: Path, **vmrun: Any) -> Cpi:
    """A Cpi on the real host, its store a directory of its own."""
    options: dict[str, Any] = {"vmrun_bin_path": settings.vmrun, "vm_start_max_wait_seconds": REAL_START_WAIT}
    if settings.host_type:
        options["host_type"] = settings.host_type
    config = make_config(store, **{**options, **vmrun})
    return Cpi(
        RealHost(),
        SystemClock(),
        store,
        config,
        network=settings.network,
        stemcell_image=image,
        stemcell_props=STEMCELL_PROPS,
    )


def real_store(settings: RealSettings, tmp_path: Path) -> Path:
    """A new, absolute, unique store directory (vmrun wants absolute .vmx paths)."""
    parent = Path(settings.store).expanduser() if settings.store else tmp_path
    return parent.resolve() / f"vmtk-lifecycle-{uuid.uuid4().hex[:12]}"


def stemcell_image(path: str, workdir: Path) -> str:
    """The ``image`` to import: ``path`` itself, or unpacked once from a full stemcell tarball."""
    from toolkit.formats import archive, stemcell

    if stemcell.tarball_manifest(path) is None:
        return path
    unpacked = archive.extract(path, str(workdir / "stemcell"))
    return os.path.join(unpacked, stemcell.IMAGE_NAME)


def remove_everything(cpi: Cpi) -> None:
    """Stop and delete every VM and template under the store, then the store itself."""
    if not cpi.store.exists():
        return
    vmrun = cpi.vmrun()
    vmxs = sorted(cpi.store.glob("*/*.vmx"), key=lambda p: p.name.startswith("cs-"))  # clones before templates
    for vmx in vmxs:
        _quietly(_stop_if_running, vmrun, str(vmx))
        _quietly(vmrun.delete_vm, str(vmx))
    LocalRunner().remove_tree(str(cpi.store))


def _stop_if_running(vmrun: Vmrun, vmx: str) -> None:
    if vmrun.is_running(vmx):
        vmrun.stop(vmx, StopMode.HARD)


def _quietly(action: Callable[..., None], *args: Any) -> None:
    """Teardown goes on past one failure: the rest must still be deleted."""
    try:
        action(*args)
    except ToolkitError:
        log.warning("teardown: %s%r failed", getattr(action, "__name__", action), args, exc_info=True)
