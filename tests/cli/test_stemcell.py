"""``vmtk stemcell inspect|import`` on the fixture stemcell, in-process and on a terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok
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
    assert result.stdout == f"{vmx}\n" and "Importing" in result.stderr
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
    assert result.stderr.splitlines() == ["Importing image", result.stderr.splitlines()[-1]]  # label, error
    assert result.stderr.splitlines()[-1].startswith("Error: ") and "not a readable tar" in result.stderr
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
    assert "Importing image  [" in child.before and "100%" in child.before
    assert child.before.rstrip().endswith(str(tmp_path / "t" / "t.vmx"))
