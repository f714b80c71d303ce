"""Clones with owner markers on the simulated host: create, destroy, keep, sweep, Player copies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.host.clock import FakeClock
from toolkit.vmware.vmrun import HostType, Vmrun
from toolkit.vmware.vmx import Vmx
from vmtk_harness.clones import MARKER_SUFFIX, CloneStore, Owner
from vmtk_sim import Power, SimHost

SNAPSHOT = "base"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(tmp_path: Path, clock: FakeClock) -> SimHost:
    return SimHost(tmp_path / "sim", clock=clock)


@pytest.fixture
def vmrun(sim: SimHost, clock: FakeClock) -> Vmrun:
    return Vmrun(sim.runner(), binary="vmrun-sim", host_type=HostType.WORKSTATION, clock=clock)


@pytest.fixture
def template(sim: SimHost, vmrun: Vmrun, tmp_path: Path) -> str:
    vmx = sim.make_vm(str(tmp_path / "template" / "template.vmx"))
    vmrun.snapshot(vmx, SNAPSHOT)
    return vmx


@pytest.fixture
def store(sim: SimHost, vmrun: Vmrun, clock: FakeClock, tmp_path: Path) -> CloneStore:
    return CloneStore(sim.runner(), vmrun, str(tmp_path / "clones"), clock=clock)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


def mark(store: CloneStore, name: str, owner: Owner) -> None:
    (Path(store.root) / (name + MARKER_SUFFIX)).write_bytes(owner.to_json())


def test_a_clone_is_linked_to_the_template_snapshot_and_marked_with_its_owner(
    store: CloneStore, template: str, sim: SimHost
) -> None:
    vmx = store.create(template, "vmtk-main-t-1", snapshot=SNAPSHOT)

    assert vmx == str(Path(store.root) / "vmtk-main-t-1" / "vmtk-main-t-1.vmx")
    assert "cloneOf0" in (Path(vmx).with_suffix(".vmsd")).read_text()
    marker = json.loads((Path(store.root) / "vmtk-main-t-1.owner.json").read_text())
    assert marker["pid"] == os.getpid()
    assert sim.vm(vmx).power is Power.OFF


def test_destroy_powers_off_and_removes_the_clone_and_its_marker(
    store: CloneStore, template: str, vmrun: Vmrun
) -> None:
    vmx = store.create(template, "vmtk-main-t-1", snapshot=SNAPSHOT)
    vmrun.start(vmx)

    store.destroy("vmtk-main-t-1")

    assert os.listdir(store.root) == ["clone.lock"]
    assert vmx not in vmrun.list_running()


def test_destroy_copes_with_a_clone_that_was_never_made(store: CloneStore) -> None:
    os.makedirs(Path(store.root) / "vmtk-main-t-1")
    mark(store, "vmtk-main-t-1", Owner("here", 1, 0.0))

    store.destroy("vmtk-main-t-1")

    assert os.listdir(store.root) == []


@pytest.mark.real_process
def test_sweep_removes_only_clones_of_dead_owners_on_this_machine(
    store: CloneStore, template: str, vmrun: Vmrun
) -> None:
    names = {
        "dead": Owner.current(FakeClock()),
        "alive": Owner.current(FakeClock()),
        "foreign": Owner("elsewhere.example", 1, 0.0),
        "kept": None,
    }
    names["dead"] = Owner(names["dead"].host, dead_pid(), 0.0)
    for name in names:
        store.create(template, name, snapshot=SNAPSHOT)
    vmrun.start(store.vmx_of("dead"))
    for name, owner in names.items():
        if owner is not None:
            mark(store, name, owner)
    store.release("kept")

    assert store.sweep() == ["dead"]

    assert sorted(os.listdir(store.root)) == sorted(
        ["alive", "alive.owner.json", "foreign", "foreign.owner.json", "kept", "clone.lock"]
    )
    assert store.vmx_of("dead") not in vmrun.list_running()


def test_a_damaged_marker_counts_as_an_abandoned_clone(store: CloneStore, template: str) -> None:
    store.create(template, "vmtk-main-t-1", snapshot=SNAPSHOT)
    (Path(store.root) / "vmtk-main-t-1.owner.json").write_text("{not json")

    assert store.owned() == {"vmtk-main-t-1": None}
    assert store.sweep() == ["vmtk-main-t-1"]
    assert os.listdir(store.root) == ["clone.lock"]


def test_sweeping_a_store_that_does_not_exist_yet_finds_nothing(store: CloneStore) -> None:
    assert store.sweep() == []


def test_without_a_snapshot_the_clone_is_a_full_copy_with_its_own_identity(
    store: CloneStore, sim: SimHost, clock: FakeClock, tmp_path: Path
) -> None:
    sim.configure(product="player")
    template = sim.make_vm(str(tmp_path / "template" / "template.vmx"))
    template_vmx = Vmx.parse(Path(template).read_bytes())
    template_vmx.set("uuid.bios", "56 4d 00")
    template_vmx.set("ethernet0.generatedAddress", "00:0c:29:00:00:01")
    Path(template).write_bytes(template_vmx.dumps())
    (Path(template).parent / "vmware.log").write_text("old log")
    player = Vmrun(sim.runner(), binary="vmrun-sim", host_type=HostType.PLAYER, clock=clock)
    store = CloneStore(sim.runner(), player, store.root, clock=clock)

    vmx = store.create(template, "vmtk-main-t-1", snapshot=None)

    copied = Vmx.parse(Path(vmx).read_bytes())
    assert copied.get("uuid.action") == "create"
    assert copied.get("displayName") == "vmtk-main-t-1"
    assert copied.get("uuid.bios") is None and copied.get("ethernet0.generatedAddress") is None
    assert sorted(os.listdir(Path(vmx).parent)) == ["template-disk1.vmdk", "vmtk-main-t-1.vmx"]
    player.start(vmx)
    assert sim.vm(vmx).power is Power.RUNNING
