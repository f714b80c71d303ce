"""``vmtk stemcell inspect|import`` on the fixture stemcell, in-process and on a terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok, tree
from vmtk_sim import SimHost

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stemcell"
TGZ = FIXTURES / "bosh-stemcell-0.0.1-vsphere-esxi-ubuntu-jammy-go_agent.tgz"
IMAGE = FIXTURES / "image"


def test_inspect_a_stemcell_tarball(vmtk: Vmtk) -> None:
    found = json.loads(assert_ok(vmtk("stemcell", "inspect", str(TGZ), "--json")).stdout)
    assert found["name"] == "bosh-vsphere-esxi-ubuntu-jammy-go_agent" and found["version"] == "0.0.1"
    assert (found["os"], found["api_version"]) == ("ubuntu-jammy", 3)
    assert found["disk_bytes"] > 0 and found["cpus"] >= 1 and found["memory_mb"] > 0


def test_inspect_a_bare_image_has_no_version(vmtk: Vmtk) -> None:
    text = assert_ok(vmtk("stemcell", "inspect", str(IMAGE))).stdout
    assert "version: -" in text and "cpus: " in text


def test_inspect_of_something_else_is_one_error_line(vmtk: Vmtk, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not a stemcell")
    assert_error(vmtk("stemcell", "inspect", str(junk)))
    assert vmtk("stemcell", "inspect", str(tmp_path / "missing.tgz")).exit_code == 2


@pytest.mark.parametrize("source", [TGZ, IMAGE], ids=["tarball", "image"])
def test_import_writes_a_vm_that_boots(vmtk: Vmtk, sim: SimHost, tmp_path: Path, source: Path) -> None:
    result = assert_ok(vmtk("stemcell", "import", str(source), str(tmp_path / "tmpl")))
    vmx = tmp_path / "tmpl" / "tmpl.vmx"
    assert result.stdout == f"{vmx}\n" and "Importing" not in result.stderr  # quick, off a terminal: quiet
    assert (tmp_path / "tmpl" / "tmpl-disk1.vmdk").stat().st_size > 0
    assert_ok(vmtk("vm", "start", str(vmx)))
    assert sim.vm(str(vmx)).power.value == "running"


def test_a_tarball_is_unpacked_out_of_the_way(vmtk: Vmtk, tmp_path: Path) -> None:
    result = assert_ok(vmtk("stemcell", "import", str(TGZ), str(tmp_path / "t"), "--name", "cs-1"))
    assert "Unpacking stemcell bosh-vsphere-esxi-ubuntu-jammy-go_agent 0.0.1" in result.stderr
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["cs-1-disk1.vmdk", "cs-1.vmx"]


def test_a_failed_import_leaves_no_vm(vmtk: Vmtk, tmp_path: Path) -> None:
    junk = tmp_path / "image"
    junk.write_bytes(b"\x1f\x8b broken")
    result = vmtk("stemcell", "import", str(junk), str(tmp_path / "t"))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1  # the error, nothing else
    assert result.stderr.startswith("Error: ") and "not a readable tar" in result.stderr
    assert not (tmp_path / "t" / "t.vmx").exists()


@pytest.mark.real_process
def test_the_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    vmtk = Path(sys.executable).with_name("vmtk")
    if not vmtk.exists():
        pytest.skip("vmtk is not installed in this environment")
    child = pexpect.spawn(
        str(vmtk), ["stemcell", "import", str(IMAGE), str(tmp_path / "t")], encoding="utf-8", timeout=60
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert f"Importing image into {tmp_path / 't'} ..." in child.before and " %, " in child.before
    assert "\r\x1b[K" in child.before  # the line is erased when the import is done
    assert child.before.rstrip().endswith(str(tmp_path / "t" / "t.vmx"))


def test_an_import_into_a_vm_folder_is_refused_and_loses_nothing(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_ok(vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "p")))
    vmx = tmp_path / "p" / "p.vmx"
    vmx.write_bytes(vmx.read_bytes() + b'memsize = "2048"\n')
    before = tree(tmp_path / "p")
    assert_error(vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "p")), str(tmp_path / "p"), "--force")
    assert tree(tmp_path / "p") == before


def test_force_replaces_a_stopped_vm_but_never_a_running_one(vmtk: Vmtk, sim: SimHost, tmp_path: Path) -> None:
    assert_ok(vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "p")))
    vmx = tmp_path / "p" / "p.vmx"
    assert_ok(vmtk("vm", "start", str(vmx)))
    before = tree(tmp_path / "p")
    assert_error(vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "p"), "--force"), str(vmx), "running")
    assert tree(tmp_path / "p") == before and sim.vm(str(vmx)).power.value == "running"
    assert_ok(vmtk("vm", "stop", str(vmx), "--hard"))
    (tmp_path / "p" / "notes.txt").write_text("old")
    assert_ok(vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "p"), "--force"))
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["p-disk1.vmdk", "p.vmx"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("p")) == ["p"]  # no staging left


def test_a_failed_forced_import_keeps_the_old_vm(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_ok(vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "p")))
    before = tree(tmp_path / "p")
    junk = tmp_path / "image"
    junk.write_bytes(b"\x1f\x8b broken")
    assert_error(vmtk("stemcell", "import", str(junk), str(tmp_path / "p"), "--force"))
    assert tree(tmp_path / "p") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image", "p", "sim-home"]


def test_a_missing_parent_folder_is_refused_like_everywhere(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_error(
        vmtk("stemcell", "import", str(IMAGE), str(tmp_path / "none" / "deep" / "x")),
        str(tmp_path / "none" / "deep"),
        "does not exist",
    )
    assert not (tmp_path / "none").exists()
