"""``vmtk store``: listing a CPI store and collecting what no CID owns."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok, tree


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def store(tmp_path: Path) -> dict[str, Path]:
    """A store with one of everything that is owned, and one of each kind of orphan."""
    root = tmp_path / "store"
    stemcell, vm, half_vm, disk, lone = _id(), _id(), _id(), _id(), _id()
    paths = {
        "root": root,
        "stemcell": root / f"cs-{stemcell}" / f"cs-{stemcell}.vmx",
        "vm": root / f"vm-{vm}" / f"vm-{vm}.vmx",
        "half_vm": root / f"vm-{half_vm}" / "env.json",
        "disk": root / "disks" / f"disk-{disk}.vmdk",
        "disk_record": root / "disks" / f"disk-{disk}.json",
        "lone_record": root / "disks" / f"disk-{lone}.json",
        "foreign": root / "notes.txt",
        "lock": root / ".locks" / f"vm-{vm}.lock",
    }
    for name, path in paths.items():
        if name != "root":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
    return paths


def test_list_shows_owned_resources(vmtk: Vmtk, store: dict[str, Path]) -> None:
    rows = json.loads(assert_ok(vmtk("store", "list", str(store["root"]), "--json")).stdout)
    kinds = sorted(r["kind"] for r in rows)
    assert kinds == ["disk", "stemcell", "vm", "vm"]
    assert any(r["path"] == str(store["disk"]) for r in rows)
    assert "KIND" in assert_ok(vmtk("store", "list", str(store["root"]))).stdout


def test_gc_is_a_dry_run_by_default(vmtk: Vmtk, store: dict[str, Path]) -> None:
    out = assert_ok(vmtk("store", "gc", str(store["root"]))).stdout
    for orphan in ("half_vm", "lone_record", "foreign"):
        assert str(store[orphan] if orphan != "half_vm" else store[orphan].parent) in out
    assert all(p.exists() for p in store.values())


def test_gc_delete_removes_orphans_only(vmtk: Vmtk, store: dict[str, Path]) -> None:
    assert_ok(vmtk("store", "gc", str(store["root"]), "--delete"))
    assert not store["half_vm"].parent.exists()
    assert not store["lone_record"].exists() and not store["foreign"].exists()
    for kept in ("stemcell", "vm", "disk", "disk_record", "lock"):
        assert store[kept].exists(), kept
    assert assert_ok(vmtk("store", "gc", str(store["root"]))).stdout == ""


def test_an_empty_or_missing_store_lists_nothing(vmtk: Vmtk, tmp_path: Path) -> None:
    assert json.loads(assert_ok(vmtk("store", "list", str(tmp_path / "none"), "--json")).stdout) == []
    assert assert_ok(vmtk("store", "gc", str(tmp_path / "none"))).stdout == ""


def test_gc_json_names_each_orphan_and_what_was_done(vmtk: Vmtk, store: dict[str, Path]) -> None:
    temp = store["vm"].with_name("env.json.tmp-0123abcd")
    temp.write_text("{")
    rows = json.loads(assert_ok(vmtk("store", "gc", str(store["root"]), "--json")).stdout)
    by_path = {row["path"]: row for row in rows}
    assert by_path[str(temp)]["kind"] == "temp-file" and by_path[str(temp)]["owner"]["kind"] == "VM"
    assert by_path[str(store["foreign"])]["owner"] is None
    assert {row["action"] for row in rows} == {"would remove"} and temp.exists()
    rows = json.loads(assert_ok(vmtk("store", "gc", str(store["root"]), "--delete", "--json")).stdout)
    assert {row["action"] for row in rows} == {"removed"} and not temp.exists()
    assert json.loads(assert_ok(vmtk("store", "gc", str(store["root"]), "--json")).stdout) == []


@pytest.mark.parametrize("command", ["list", "gc"])
def test_a_store_path_that_is_a_file_is_refused(vmtk: Vmtk, tmp_path: Path, command: str) -> None:
    plain = tmp_path / "store.txt"
    plain.write_text("not a store")
    assert_error(vmtk("store", command, str(plain)), str(plain), "is not a directory", "vm_store_path")
    assert_error(vmtk("store", command, str(plain), "--json"), "is not a directory")
    assert plain.read_text() == "not a store"


def test_gc_delete_of_a_file_removes_nothing(vmtk: Vmtk, store: dict[str, Path]) -> None:
    before = tree(store["root"])
    assert_error(vmtk("store", "gc", str(store["foreign"]), "--delete"), "is not a directory")
    assert tree(store["root"]) == before


def test_gc_reports_and_removes_a_vm_a_killed_create_vm_left_running(vmtk: Vmtk, sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vmtk_sim.state import Power

    cid = _id()
    root = tmp_path / "store"
    vmx = sim.make_vm(str(root / f"vm-{cid}" / f"vm-{cid}.vmx"))
    (root / f"vm-{cid}" / "creating").write_text("")  # create_vm's marker: the call never answered
    assert_ok(vmtk("vm", "start", vmx))
    rows = json.loads(assert_ok(vmtk("store", "gc", str(root), "--json")).stdout)
    assert [(r["kind"], r["path"]) for r in rows] == [("unfinished-vm", str(root / f"vm-{cid}"))]
    assert sim.vm(vmx).power is Power.RUNNING  # a dry run touches nothing
    assert_ok(vmtk("store", "gc", str(root), "--delete"))
    assert sim.vm(vmx).power is Power.OFF and not (root / f"vm-{cid}").exists()


def test_gc_leaves_a_vm_whose_create_vm_is_under_way(vmtk: Vmtk, sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cpi.ids import VmCid
    from cpi.store import Store
    from toolkit.host.runner import LocalRunner

    cid = _id()
    root = tmp_path / "store"
    sim.make_vm(str(root / f"vm-{cid}" / f"vm-{cid}.vmx"))
    (root / f"vm-{cid}" / "creating").write_text("")
    with Store(LocalRunner(), str(root), lock_timeout=1.0).lock_for(VmCid(cid)):  # as create_vm holds it
        assert assert_ok(vmtk("store", "gc", str(root))).stdout == ""
