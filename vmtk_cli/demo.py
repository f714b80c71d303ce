"""``vmtk demo`` / ``make demo``: the main job end to end on the simulator.

In a temporary directory with its own simulator state, it drives the real CPI
executable (``bosh-vmrun-cpi CONFIG``, one JSON request per process, exactly as
bosh does) through a VM's life: stemcell, VM with a bootstrap script, guest
processes, a persistent disk, and teardown; then checks nothing is left in the
store. It prints each step with its timing. It must not reach into the CPI's
internals: requests in, responses out (plus toolkit calls to look at the guest).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from toolkit.errors import ToolkitError
from toolkit.host.clock import SystemClock
from toolkit.host.runner import LocalRunner
from toolkit.vmware.guest import Guest
from toolkit.vmware.vmrun import GuestCredentials, Vmrun
from vmtk_harness import cpiprocess
from vmtk_sim.samples import sample_path

if TYPE_CHECKING:
    from vmtk_sim import SimHost

T = TypeVar("T")
CPI_TIMEOUT = 120.0
AGENT_ID = "demo-agent-0"
STEMCELL_PROPERTIES = {
    "name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent",
    "version": "0.0.1",
    "infrastructure": "vsphere",
    "hypervisor": "esxi",
    "disk": 1024,
    "disk_format": "ovf",
    "container_format": "bare",
    "os_type": "linux",
    "os_distro": "ubuntu",
    "architecture": "x86_64",
    "root_device_name": "/dev/sda1",
}
NETWORKS = {
    "default": {
        "type": "manual",
        "ip": "192.168.56.10",
        "netmask": "255.255.255.0",
        "gateway": "192.168.56.1",
        "dns": ["8.8.8.8"],
        "default": ["dns", "gateway"],
        "cloud_properties": {"name": "vmnet8"},
    }
}
CONTEXT = {"director_uuid": "demo-director", "vm": {"stemcell": {"api_version": 2}}}
BOOTSTRAP_SCRIPT = 'echo "bootstrap: hello from $(uname -s) in the guest"\necho "bootstrap: done"\n'


class DemoFailure(Exception):
    """A step of the demo did not do what it should."""


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path

    @property
    def sim_home(self) -> Path:
        return self.root / "sim"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def config(self) -> Path:
        return self.root / "cpi.json"


class Cpi:
    """The CPI executable, called once per request as bosh does."""

    def __init__(self, runner: LocalRunner, executable: str, config: Path) -> None:
        self._runner = runner
        self._executable = executable
        self._config = config

    def call(self, method: str, *arguments: Any) -> tuple[Any, str]:
        body = cpiprocess.request(method, arguments, CONTEXT)
        done = cpiprocess.run(self._runner, self._executable, self._config, body, timeout=CPI_TIMEOUT)
        try:
            return cpiprocess.answer(method, done.stdout)
        except ValueError:
            raise DemoFailure(
                f"{method}: the CPI answered no JSON (exit {done.exit_code}): "
                f"{(done.stderr or done.stdout).strip()[-300:]}"
            ) from None
        except cpiprocess.CpiErrorResponse as exc:
            raise DemoFailure(str(exc)) from None


class Demo:
    """The steps, each timed and printed."""

    def __init__(self, workspace: Workspace, echo: Callable[[str], None], image: Path | None = None) -> None:
        self.ws = workspace
        self.echo = echo
        self.image = image
        self.runner = LocalRunner()
        self.cpi = Cpi(self.runner, _script("bosh-vmrun-cpi"), workspace.config)

    def step(self, title: str, action: Callable[[], T], show: Callable[[T], str] = str) -> T:
        started = time.monotonic()
        value = action()
        self.echo(f"[{time.monotonic() - started:6.2f}s] {title:<16} {show(value)}")
        return value

    def run(self) -> None:
        self.echo(f"vmtk demo: a BOSH VM's life on the simulated VMware host, in {self.ws.root}")
        self.step("info", lambda: self.cpi.call("info")[0], lambda r: f"api_version {r['api_version']}")
        image = self.step("stemcell image", self.stemcell_image)
        stemcell = self.step("create_stemcell", lambda: self.cpi.call("create_stemcell", image, STEMCELL_PROPERTIES)[0])
        vm_cid = self.create_vm(stemcell)
        self.step("guest processes", lambda: self.processes(vm_cid))
        disk = self.step("create_disk", lambda: self.cpi.call("create_disk", 1024, {}, vm_cid)[0])
        self.step("attach_disk", lambda: self.cpi.call("attach_disk", vm_cid, disk)[0], lambda h: f"disk hint {h!r}")
        self.step("detach_disk", lambda: self.cpi.call("detach_disk", vm_cid, disk)[0], lambda _: "ok")
        self.step("delete_vm", lambda: self.cpi.call("delete_vm", vm_cid)[0], lambda _: "ok")
        self.step("delete_disk", lambda: self.cpi.call("delete_disk", disk)[0], lambda _: "ok")
        self.step("delete_stemcell", lambda: self.cpi.call("delete_stemcell", stemcell)[0], lambda _: "ok")
        self.step("store is empty", self.check_store_empty)

    def create_vm(self, stemcell: str) -> str:
        result, log = self.step(
            "create_vm",
            lambda: self.cpi.call("create_vm", AGENT_ID, stemcell, self.vm_properties(), NETWORKS, [], {"bosh": {}}),
            lambda r: f"{r[0][0]} (bootstrap output below)",
        )
        for line in _bootstrap_lines(log):
            self.echo(f"{'':9}| {line}")
        return str(result[0])

    def vm_properties(self) -> dict[str, Any]:
        knobs = _sim_host(self.ws.sim_home).home.knobs()
        bootstrap = {
            "script_content": BOOTSTRAP_SCRIPT,
            "script_path": "/tmp/bootstrap.sh",
            "interpreter_path": "/bin/sh",
            "username": knobs.guest_user,
            "password": knobs.guest_password,
            "ready_process_name": "bosh-agent",
            "min_wait_seconds": 0,
            "max_wait_seconds": 60,
        }
        return {"cpu": 1, "ram": 512, "disk": 1024, "bootstrap": bootstrap}

    def processes(self, vm_cid: str) -> str:
        vmx = self.find_vmx(vm_cid)
        knobs = _sim_host(self.ws.sim_home).home.knobs()
        vmrun = Vmrun(self.runner, binary=_script("vmrun-sim"), clock=SystemClock())
        guest = Guest(vmrun, vmx, GuestCredentials(knobs.guest_user, knobs.guest_password), clock=SystemClock())
        names = sorted({p.name for p in guest.processes()})
        if "bosh-agent" not in names:
            raise DemoFailure(f"no bosh-agent among the guest's processes: {names}")
        return ", ".join(names)

    def find_vmx(self, vm_cid: str) -> str:
        found = [p for p in self.ws.store.rglob("*.vmx") if vm_cid in str(p)]
        if not found:
            raise DemoFailure(f"no .vmx for {vm_cid} under {self.ws.store}")
        return str(found[0])

    def stemcell_image(self) -> str:
        if self.image is not None:
            return str(self.image)
        return str(sample_path("stemcell/image"))

    def check_store_empty(self) -> str:
        left = [
            str(p.relative_to(self.ws.store))
            for p in self.ws.store.rglob("*")
            if p.is_file() and not p.name.endswith(".lock")
        ]
        if left:
            raise DemoFailure(f"files left in the store: {left}")
        return "nothing left behind"


# A response log line: "2026-11-25 11:05:17,690 INFO cpi.bootstrap: bootstrap stdout: ...".
_LOG_LINE = re.compile(
    r"^\S+ \S+ [A-Z]+ cpi\.bootstrap: (?P<message>bootstrap (?:stdout|stderr): .*|.* exited with .*)$"
)


def _sim_host(home: Path) -> SimHost:
    # The simulator (and pycdlib under it) loads only when the demo runs, not with every vmtk command.
    from vmtk_sim import SimHost

    return SimHost(home)


def _bootstrap_lines(log: str) -> list[str]:
    """What the script printed and how it ended, from the CPI's response log (messages only)."""
    lines = [m["message"] for m in map(_LOG_LINE.match, log.splitlines()) if m]
    return lines or ["(the CPI's log carried no bootstrap output)"]


def _script(name: str) -> str:
    """A console script installed next to this Python (the venv's bin)."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def write_config(ws: Workspace) -> None:
    vmrun = {
        "vm_store_path": str(ws.store),
        "vmrun_bin_path": _script("vmrun-sim"),
        "vm_start_max_wait_seconds": 60,
        "vm_soft_shutdown_max_wait_seconds": 10,
    }
    agent = {
        "mbus": "https://mbus:mbus-password@0.0.0.0:6868",
        "ntp": [],
        "blobstore": {"provider": "local", "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"}},
    }
    config = {"cloud": {"plugin": "vmrun", "properties": {"agent": agent, "vmrun": vmrun}}}
    ws.config.write_text(json.dumps(config, indent=2), encoding="utf-8")


@contextlib.contextmanager
def _sim_environment(home: Path) -> Iterator[None]:
    # vmrun-sim, run by the CPI, finds its state through this variable.
    saved = os.environ.get("VMRUN_SIM_HOME")
    os.environ["VMRUN_SIM_HOME"] = str(home)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("VMRUN_SIM_HOME", None)
        else:
            os.environ["VMRUN_SIM_HOME"] = saved


def run_demo(echo: Callable[[str], None] = click.echo, *, image: Path | None = None, keep: bool = False) -> None:
    """Run the whole demo in a fresh temporary directory (kept with ``keep``)."""
    root = Path(tempfile.mkdtemp(prefix="vmtk-demo-"))
    ws = Workspace(root)
    started = time.monotonic()
    try:
        _sim_host(ws.sim_home).configure(boot_delay=1.0)
        write_config(ws)
        with _sim_environment(ws.sim_home):
            Demo(ws, echo, image).run()
    finally:
        if not keep:
            LocalRunner().remove_tree(str(root))
    echo(f"Done in {time.monotonic() - started:.1f}s: no VMware was harmed.")


@click.command("demo")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Stemcell image to use (default: the repository's fixture stemcell).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary directory to look around.")
def command(image: Path | None, keep: bool) -> None:
    """Run the main job end to end on the simulator (no VMware needed)."""
    try:
        run_demo(image=image, keep=keep)
    except DemoFailure as exc:
        raise click.ClickException(str(exc)) from exc


def main() -> None:
    """``vmtk demo`` and ``python -m vmtk_cli.demo``: exit 0 on success, 1 with ``Error: ...`` on failure."""
    try:
        run_demo()
    except (DemoFailure, ToolkitError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
