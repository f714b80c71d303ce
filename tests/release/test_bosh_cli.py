"""The real bosh CLI runs create-env, updates and delete-env against the simulator.

Each flow runs twice: with the simulated agent, and with the real bosh-agent as
the guest's agent (``VMTK_BOSH_AGENT``, run in each VM's guest sandbox). The CLI
is ``BOSH_BIN`` or ``bosh`` on PATH; ``.ci/run`` points both variables at
``../shared/tools`` when those exist. The CPI calls are read from the CLI's debug
log and their order asserted where it matters. Every flow ends with nothing in
the store, no VM running and no agent process left.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from release.build import Built
from tests.release.test_create_env_flow import VMRUN_SIM, _free_port, _processes_mentioning, _refused, _stop_strays
from tests.support.bosh_cli import BoshCli, bosh_binary, needs
from vmtk_sim import SimHost
from vmtk_sim.sandbox import unavailable
from vmtk_sim.state import Power, SimHome, vm_key

pytestmark = [pytest.mark.real_process, pytest.mark.slow]

DATA = "/var/vcap/store/written-before.txt"


def real_agent() -> str | None:
    path = os.environ.get("VMTK_BOSH_AGENT")
    return path if path and os.access(path, os.X_OK) else None


@pytest.fixture(params=["simulated", "real"])
def agent_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "real":
        if real_agent() is None:
            pytest.skip("VMTK_BOSH_AGENT names no bosh-agent binary (.ci/run points it at ../shared/tools)")
        if unavailable():
            pytest.skip(f"the real agent runs in the guest sandbox: {unavailable()}")
    return str(request.param)


@pytest.fixture
def cli(built: Built, agent_kind: str, tmp_path: Path) -> Iterator[BoshCli]:
    binary = bosh_binary()
    if binary is None:
        pytest.skip("no bosh CLI: set BOSH_BIN or put bosh on PATH (.ci/run uses ../shared/tools/bosh-cli)")
    missing = needs(["ruby"])
    if missing:
        pytest.skip(missing)
    home = tmp_path / "sim"
    SimHost(home).configure(mbus_agent=True, boot_delay=0.2, bosh_agent=real_agent() if agent_kind == "real" else None)
    yield BoshCli(binary, tmp_path, home, tmp_path / "store", built.path, built.sha1, _free_port())
    _stop_strays(home)


@pytest.mark.timeout(900)
def test_create_env_updates_and_delete_env(cli: BoshCli, agent_kind: str) -> None:
    created = cli("create-env")
    assert created.code == 0, created.output
    assert created.calls == [
        "create_stemcell",
        "create_vm",
        "set_vm_metadata",
        "create_disk",
        "attach_disk",
        "set_disk_metadata",
    ]
    first_vm, first_disk = cli.current_vm(), current_disk(cli)
    write_on_store(cli, "data from the first VM\n")

    again = cli("create-env")
    assert again.code == 0, again.output
    assert again.calls == [] and cli.current_vm() == first_vm  # nothing changed: nothing recreated

    cli.ops["/resource_pools/name=vms/cloud_properties/ram"] = 1024
    more_ram = cli("create-env")
    assert more_ram.code == 0, more_ram.output
    assert more_ram.calls == ["has_vm", "delete_vm", "create_vm", "set_vm_metadata", "attach_disk", "set_disk_metadata"]
    assert cli.current_vm() != first_vm and current_disk(cli) == first_disk
    assert 'memsize = "1024"' in vmx_of(cli).read_text()

    cli.ops["/disk_pools/name=disks/disk_size"] = 2048
    bigger = cli("create-env")
    assert bigger.code == 0, bigger.output
    assert bigger.calls == [
        "has_vm",
        "delete_vm",
        "create_vm",
        "set_vm_metadata",
        "attach_disk",
        "set_disk_metadata",
        "create_disk",
        "attach_disk",
        "set_disk_metadata",
        "detach_disk",
        "delete_disk",
    ]
    assert current_disk(cli) != first_disk
    assert_migrated(cli, agent_kind, first_disk)

    recreated_from = cli.current_vm()
    recreated = cli("create-env", "--recreate")
    assert recreated.code == 0, recreated.output
    assert recreated.calls[:3] == ["has_vm", "delete_vm", "create_vm"] and "create_disk" not in recreated.calls
    assert cli.current_vm() != recreated_from

    deleted = cli("delete-env")
    assert deleted.code == 0, deleted.output
    assert deleted.calls == ["has_vm", "delete_vm", "delete_disk", "delete_stemcell"]
    assert_nothing_left(cli)


@pytest.mark.timeout(900)
def test_delete_env_after_the_vm_was_deleted_out_of_band_and_an_interrupted_create_env(cli: BoshCli) -> None:
    """One CLI installation for both flows: the VM deleted behind the CLI's back, then delete-env; then
    create-env interrupted with Ctrl-C in the middle of create_vm and run again; what the interrupted run
    orphaned is what ``vmtk store gc`` finds."""
    created = cli("create-env")
    assert created.code == 0, created.output
    vmx = str(vmx_of(cli))
    vmrun(cli, "stop", vmx, "hard")
    vmrun(cli, "deleteVM", vmx)
    deleted = cli("delete-env")
    assert deleted.code == 0, deleted.output
    assert deleted.calls == ["has_vm", "delete_vm", "delete_disk", "delete_stemcell"]  # has_vm: false, no agent call
    assert_nothing_left(cli)

    # vmrun start takes 3 s here, so "0.4 s into create_vm" is inside it even on a loaded machine
    # (without it the whole create-env could end before the Ctrl-C, and the test would prove nothing).
    SimHost(cli.sim_home).configure(latency={"start": 3.0})
    stopped = cli.interrupted("create-env", while_creating_the_vm())
    SimHost(cli.sim_home).configure(latency={})
    assert stopped.code != 0 and "create_vm" not in stopped.calls  # stopped in the middle of create_vm
    settle(cli)
    # The CLI runs the CPI in a process group of its own, so the Ctrl-C ends only the CLI: the CPI
    # finishes create_vm, finds nobody to answer and deletes the VM (cpi/undelivered.py). A VM left
    # running would hold the agent's port (and, on a real host, its static IP) against the re-run.
    assert running_vms(cli) == []
    rerun = cli("create-env")
    assert rerun.code == 0, rerun.output
    deleted = cli("delete-env")
    assert deleted.code == 0, deleted.output

    orphans = [Path(row["path"]) for row in store_gc(cli)]
    left = [p for p in cli.store.rglob("*") if p.is_file() and ".locks" not in p.parts]
    assert [p for p in left if not any(p == o or o in p.parents for o in orphans)] == []
    store_gc(cli, delete=True)
    assert_nothing_left(cli)


def settle(cli: BoshCli, timeout: float = 60) -> None:
    """Wait until no CPI process of this CLI is left (an interrupted one may still be finishing)."""
    deadline = time.monotonic() + timeout
    while cpi_processes(cli) and time.monotonic() < deadline:
        time.sleep(0.1)


def cpi_processes(cli: BoshCli) -> list[str]:
    """Live ``bin/cpi`` processes of this CLI's installation (their command line names its cpi.json)."""
    needle, found = str(cli.work / "home").encode(), []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not a process
            continue
        if entry.name.isdigit() and needle in argv and b"cpi.json" in argv:
            found.append(entry.name)
    return found


def running_vms(cli: BoshCli) -> list[str]:
    return [key for key, vm in SimHome(cli.sim_home).snapshot().vms.items() if vm.power is not Power.OFF]


def while_creating_the_vm(after: float = 0.4) -> Callable[[str], bool]:
    """True ``after`` seconds into the CPI's create_vm (the CLI logs the step before it runs the CPI)."""
    began: list[float] = []

    def when(log: str) -> bool:
        if "Creating VM with network interfaces" not in log:
            return False
        began[:] = began or [time.monotonic()]
        return time.monotonic() - began[0] >= after

    return when


def current_disk(cli: BoshCli) -> str:
    state = cli.state()
    return next(d["cid"] for d in state["disks"] if d["id"] == state["current_disk_id"])


def vmx_of(cli: BoshCli) -> Path:
    vm = cli.current_vm()
    return cli.store / f"vm-{vm}" / f"vm-{vm}.vmx"


def guest_root(cli: BoshCli) -> Path:
    home = SimHome(cli.sim_home)
    return home.guest_root(home.snapshot().vms[vm_key(str(vmx_of(cli)))].id)


def write_on_store(cli: BoshCli, text: str) -> None:
    """What a job of the guest writes on its persistent disk."""
    path = guest_root(cli) / DATA.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)  # the real agent's dummy platform makes no mount point
    path.write_text(text)


def assert_migrated(cli: BoshCli, agent_kind: str, old_disk: str) -> None:
    """The data followed the disk migration (the simulated agent copies it as the Linux platform does;
    the real agent's dummy platform copies nothing and records the migration instead)."""
    root = guest_root(cli)
    if agent_kind == "simulated":
        assert (root / DATA.lstrip("/")).read_text() == "data from the first VM\n"
    else:
        migrations = json.loads((root / "var/vcap/bosh/disk_migrations.json").read_text())
        assert migrations == [{"FromDiskCid": old_disk, "ToDiskCid": current_disk(cli)}]


def vmrun(cli: BoshCli, *args: str) -> None:
    import subprocess

    done = subprocess.run(
        [str(VMRUN_SIM), "-T", "ws", *args],
        env={**os.environ, "VMRUN_SIM_HOME": str(cli.sim_home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def store_gc(cli: BoshCli, *, delete: bool = False) -> list[dict[str, str]]:
    import subprocess

    vmtk = VMRUN_SIM.with_name("vmtk")
    argv = [str(vmtk), "store", "gc", "--json", *(["--delete"] if delete else []), str(cli.store)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout or "[]")
    return found if isinstance(found, list) else list(found.get("orphans", []))


def assert_nothing_left(cli: BoshCli) -> None:
    """No file in the store but its locks, no VM running, no agent listening or alive."""
    assert [p for p in cli.store.rglob("*") if p.is_file() and ".locks" not in p.parts] == []
    assert running_vms(cli) == []
    assert _refused(cli.port)
    assert _processes_mentioning(cli.sim_home) == []  # a real agent's bubblewrap names its guest root
