"""The simulated host a lab uses when no real vmrun is configured.

Its state lives in ``<workdir>/sim`` so every pytest-xdist worker of a session
shares one simulated host, as they would share one real VMware host. The guest
account is set to the lab's credentials and boots are short. The default
template is the sample stemcell image shipped with the simulator, else a small
VM written by the simulator. Only the lab imports this module, and only when it
runs against the simulator.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from toolkit.host.clock import Clock
from vmtk_sim import SimHost
from vmtk_sim.samples import sample_path

BOOT_DELAY = 0.3  # long enough that a VM really waits for Tools, short enough for big suites
LOCK_TIMEOUT = 120.0
DEFAULT_NAME = "sim-default"


def open_simulator(workdir: str, user: str, password: str, *, clock: Clock) -> SimHost:
    """The simulated host under ``workdir``, accepting ``user``/``password`` in its guests."""
    sim = SimHost(Path(workdir) / "sim", clock=clock)
    runner = sim.runner()
    runner.mkdir(workdir)
    with runner.lock(runner.path.join(workdir, "sim.lock"), timeout=LOCK_TIMEOUT):
        sim.configure(boot_delay=BOOT_DELAY, guest_user=user, guest_password=password)
    return sim


def default_template(sim: SimHost, templates_dir: str) -> str:
    """The fixture stemcell, or a small simulator-made VM (made once, under a lock)."""
    with contextlib.suppress(FileNotFoundError):
        return str(sample_path("stemcell/image"))
    runner = sim.runner()
    vmx = str(runner.path.join(templates_dir, DEFAULT_NAME, f"{DEFAULT_NAME}.vmx"))
    runner.mkdir(templates_dir)
    with runner.lock(runner.path.join(templates_dir, "default.lock"), timeout=LOCK_TIMEOUT):
        if not runner.exists(vmx):
            sim.make_vm(vmx)
    return vmx
