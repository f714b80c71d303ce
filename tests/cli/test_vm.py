"""``vmtk vm``: power, clones, snapshots and addresses against the simulated host."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok, tree
from vmtk_sim import SimHost
from vmtk_sim.state import Power


def test_start_list_stop(vmtk: Vmtk, sim: SimHost, vmx: str) -> None:
    assert_ok(vmtk("vm", "start", vmx))
    assert sim.vm(vmx).power is Power.RUNNING
    assert json.loads(assert_ok(vmtk("vm", "list", "--json")).stdout) == [vmx]
    assert vmx in assert_ok(vmtk("vm", "list")).stdout
    assert_ok(vmtk("vm", "stop", vmx, "--hard"))
    assert sim.vm(vmx).power is Power.OFF
    assert json.loads(assert_ok(vmtk("vm", "list", "--json")).stdout) == []


def test_starting_a_running_vm_is_one_error_line(vmtk: Vmtk, running_vmx: str) -> None:
    assert_error(vmtk("vm", "start", running_vmx))


def test_stopping_a_stopped_vm_says_to_start_it(vmtk: Vmtk, vmx: str) -> None:
    assert_error(vmtk("vm", "stop", vmx, "--hard"), "vmtk vm start")


def test_soft_stop_and_reset(vmtk: Vmtk, sim: SimHost, running_vmx: str) -> None:
    sim.clock.advance(5)  # let the guest boot: a soft stop goes through VMware Tools
    assert_ok(vmtk("vm", "reset", running_vmx, "--hard"))
    assert sim.vm(running_vmx).power is Power.RUNNING
    sim.clock.advance(5)
    assert_ok(vmtk("vm", "stop", running_vmx))
    assert sim.vm(running_vmx).power is Power.OFF


def test_full_clone_then_delete(vmtk: Vmtk, vmx: str, tmp_path: Path) -> None:
    dest = tmp_path / "vms" / "two" / "two.vmx"
    assert_ok(vmtk("vm", "clone", vmx, str(dest), "--name", "two"))
    assert dest.exists()
    assert_ok(vmtk("vm", "delete", str(dest)))
    assert not dest.exists()


def test_linked_clone_from_a_snapshot(vmtk: Vmtk, vmx: str, tmp_path: Path) -> None:
    assert_ok(vmtk("vm", "snapshot", vmx, "base"))
    dest = tmp_path / "vms" / "linked" / "linked.vmx"
    assert_ok(vmtk("vm", "clone", vmx, str(dest), "--linked", "--snapshot", "base"))
    assert dest.exists()


def test_snapshots_list_revert_delete(vmtk: Vmtk, vmx: str) -> None:
    assert_ok(vmtk("vm", "snapshot", vmx, "one"))
    listed = json.loads(assert_ok(vmtk("vm", "snapshots", vmx, "--json")).stdout)
    assert [s["name"] for s in listed] == ["one"]
    assert "one" in assert_ok(vmtk("vm", "snapshots", vmx)).stdout
    assert_ok(vmtk("vm", "revert", vmx, "one"))
    assert_ok(vmtk("vm", "snapshot", vmx, "one", "--delete"))
    assert json.loads(assert_ok(vmtk("vm", "snapshots", vmx, "--json")).stdout) == []


def test_reverting_to_a_missing_snapshot_points_at_the_list(vmtk: Vmtk, vmx: str) -> None:
    assert_error(vmtk("vm", "revert", vmx, "nope"), "vmtk vm snapshots")


def test_player_cannot_snapshot(vmtk: Vmtk, sim: SimHost, vmx: str) -> None:
    sim.configure(product="player")
    assert_error(vmtk("-T", "player", "vm", "snapshot", vmx, "s"), "Player")


def test_ip_of_a_booted_guest(vmtk: Vmtk, sim: SimHost, running_vmx: str) -> None:
    sim.clock.advance(5)
    address = assert_ok(vmtk("vm", "ip", running_vmx, "--wait", "30")).stdout.strip()
    assert address.count(".") == 3


def test_ip_of_a_stopped_vm_fails(vmtk: Vmtk, vmx: str) -> None:
    assert_error(vmtk("vm", "ip", vmx))


def test_reset_of_a_stopped_vm_says_to_start_it(vmtk: Vmtk, sim: SimHost, vmx: str) -> None:
    assert_error(vmtk("vm", "reset", vmx, "--hard"), "vmtk vm start")
    assert sim.vm(vmx).power is Power.OFF


def test_clone_of_a_missing_vm_writes_no_clone(vmtk: Vmtk, tmp_path: Path) -> None:
    dest = tmp_path / "vms" / "two" / "two.vmx"
    dest.parent.parent.mkdir()
    assert_error(vmtk("vm", "clone", str(tmp_path / "missing.vmx"), str(dest)), "check the .vmx path")
    assert not dest.parent.exists()


def test_delete_of_a_running_vm_says_to_stop_it_and_keeps_it(vmtk: Vmtk, sim: SimHost, running_vmx: str) -> None:
    before = tree(Path(running_vmx).parent)
    assert_error(vmtk("vm", "delete", running_vmx), "vmtk vm stop")
    assert tree(Path(running_vmx).parent) == before and sim.vm(running_vmx).power is Power.RUNNING


def test_snapshots_of_a_missing_vm_is_one_error_line(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_error(vmtk("vm", "snapshots", str(tmp_path / "missing.vmx")), "check the .vmx path")
    assert list(tmp_path.iterdir()) == [tmp_path / "sim-home"]


def test_clone_refuses_a_destination_whose_parent_is_missing(vmtk: Vmtk, vmx: str, tmp_path: Path) -> None:
    dest = tmp_path / "none" / "deep" / "c" / "c.vmx"
    assert_error(vmtk("vm", "clone", vmx, str(dest)), str(tmp_path / "none" / "deep"), "does not exist")
    assert not (tmp_path / "none").exists()


def test_a_vm_started_by_a_relative_path_is_listed_by_its_absolute_one(
    vmtk: Vmtk, sim: SimHost, vmx: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vmrun's list prints absolute paths; a relative spelling would never match one."""
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(vmx, tmp_path)
    assert_ok(vmtk("vm", "start", relative))
    assert json.loads(assert_ok(vmtk("vm", "list", "--json")).stdout) == [vmx]
    assert sim.vm(vmx).spelling == vmx
    assert_ok(vmtk("vm", "stop", relative, "--hard"))
    assert json.loads(assert_ok(vmtk("vm", "list", "--json")).stdout) == []
