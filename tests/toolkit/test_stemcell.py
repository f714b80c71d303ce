"""Stemcell import with and without ovftool, manifest checks, cleanup, inspection, the fixture generator."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixtures import make_stemcell
from toolkit.errors import OvftoolError, StemcellError
from toolkit.formats import archive, vmdk
from toolkit.formats.stemcell import (
    import_image,
    inspect,
    parse_stemcell_manifest,
    read_stemcell_manifest,
    tarball_manifest,
)
from toolkit.host.clock import FakeClock
from toolkit.host.runner import LocalRunner
from toolkit.vmware.ovftool import Ovftool
from toolkit.vmware.vmx import read_vmx
from vmtk_sim import SimHost

STEMCELLS = Path(make_stemcell.__file__).resolve().parent / "stemcell"
IMAGE = STEMCELLS / "image"
TARBALL = STEMCELLS / make_stemcell.STEMCELL_NAME


def _tampered_image(tmp_path: Path, name: str, change: bytes) -> Path:
    files = make_stemcell.image_files()
    files[name] = files[name] + change
    path = tmp_path / "image"
    path.write_bytes(make_stemcell.tgz(files))
    return path


def test_the_committed_fixtures_are_what_the_generator_builds() -> None:
    for name, data in make_stemcell.outputs().items():
        assert (STEMCELLS / name).read_bytes() == data, f"run python fixtures/make_stemcell.py ({name} is stale)"


def test_import_without_ovftool_writes_a_template_with_a_runnable_disk(tmp_path: Path) -> None:
    seen: list[int] = []
    vmx = tmp_path / "store" / "cs-1" / "cs-1.vmx"
    assert import_image(LocalRunner(), str(IMAGE), str(vmx), name="cs-1", progress=seen.append) == str(vmx)
    assert sorted(p.name for p in vmx.parent.iterdir()) == ["cs-1-disk1.vmdk", "cs-1.vmx"]
    config = read_vmx(LocalRunner(), str(vmx))
    assert config["displayname"] == "cs-1" and config["scsi0:0.fileName"] == "cs-1-disk1.vmdk"
    with open(vmx.parent / "cs-1-disk1.vmdk", "rb") as disk:
        info = vmdk.info(disk)
    assert (info.create_type, info.capacity_bytes, info.adapter_type) == ("monolithicSparse", 1 << 20, "lsilogic")
    assert seen[-1] == 100


@pytest.mark.real_process
@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")
def test_the_converted_disk_passes_qemu_img_check(tmp_path: Path) -> None:
    vmx = tmp_path / "t" / "t.vmx"
    import_image(LocalRunner(), str(IMAGE), str(vmx), name="t")
    check = subprocess.run(
        ["qemu-img", "check", str(vmx.parent / "t-disk1.vmdk")], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_directory_or_a_bare_ovf_imports_too(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name, data in make_stemcell.image_files().items():
        (source / name).write_bytes(data)
    for image, vm in ((source, "a"), (source / "image.ovf", "b")):
        vmx = tmp_path / vm / f"{vm}.vmx"
        import_image(LocalRunner(), str(image), str(vmx), name=vm)
        assert (vmx.parent / f"{vm}-disk1.vmdk").exists()


def test_the_reference_cpis_fixture_imports_although_its_manifest_names_other_files(tmp_path: Path) -> None:
    """Its image.mf lists test.ovf/test.vmdk: ovftool only warns (driver_test.go imports it on VMware)."""
    source = Path(make_stemcell.__file__).resolve().parent / "reference"
    vmx = tmp_path / "r" / "r.vmx"
    import_image(LocalRunner(), str(source / "image.ovf"), str(vmx), name="r")
    assert (vmx.parent / "r-disk1.vmdk").exists()


@pytest.mark.parametrize("member", ["image-disk1.vmdk", "image.ovf"])
def test_a_manifest_mismatch_fails_and_leaves_nothing(member: str, tmp_path: Path) -> None:
    image = _tampered_image(tmp_path, member, b"\0" * 512 if member.endswith("vmdk") else b"<!-- -->")
    dest = tmp_path / "store" / "cs-2"
    with pytest.raises(StemcellError, match=f"{member}: SHA1 digest does not match"):
        import_image(LocalRunner(), str(image), str(dest / "cs-2.vmx"), name="cs-2")
    assert not dest.exists()


def test_a_failure_in_an_existing_directory_removes_only_what_it_wrote(tmp_path: Path) -> None:
    image = _tampered_image(tmp_path, "image-disk1.vmdk", b"\0" * 512)
    dest = tmp_path / "store" / "cs-3"
    dest.mkdir(parents=True)
    (dest / "stemcell.json").write_text("{}")
    with pytest.raises(StemcellError):
        import_image(LocalRunner(), str(image), str(dest / "cs-3.vmx"), name="cs-3")
    assert [p.name for p in dest.iterdir()] == ["stemcell.json"]


def test_garbage_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "image"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(StemcellError):
        import_image(LocalRunner(), str(bad), str(tmp_path / "x" / "x.vmx"), name="x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(StemcellError, match="does not exist"):
        import_image(LocalRunner(), str(tmp_path / "absent"), str(tmp_path / "x" / "x.vmx"), name="x")


def test_import_with_ovftool_on_the_simulated_host(tmp_path: Path) -> None:
    host = SimHost(tmp_path / "sim", clock=FakeClock())
    runner = host.runner()
    ovftool = Ovftool(runner, "ovftool-sim", FakeClock())
    vmx = tmp_path / "store" / "cs-4" / "cs-4.vmx"
    import_image(runner, str(IMAGE), str(vmx), name="cs-4", ovftool=ovftool)
    assert sorted(p.name for p in vmx.parent.iterdir()) == ["cs-4-disk1.vmdk", "cs-4.vmx"]
    assert [c["tool"] for c in host.calls()] == ["ovftool"]
    staged = Path(host.calls()[0]["argv"][-2]).parent
    assert not staged.exists()  # the staging directory is gone


def test_an_ovftool_failure_leaves_no_template(tmp_path: Path) -> None:
    host = SimHost(tmp_path / "sim", clock=FakeClock())
    host.configure(
        faults=[
            {"verb": "ovftool", "nth": 1, "output": "Error: Unknown error\nCompleted with errors\n", "exit_code": 1}
        ]
    )
    ovftool = Ovftool(host.runner(), "ovftool-sim", FakeClock())
    dest = tmp_path / "store" / "cs-5"
    with pytest.raises(OvftoolError, match="Unknown error"):
        import_image(host.runner(), str(IMAGE), str(dest / "cs-5.vmx"), name="cs-5", ovftool=ovftool)
    assert not dest.exists()


def test_the_stemcell_manifest_and_summary() -> None:
    manifest = read_stemcell_manifest(str(TARBALL))
    assert (manifest.name, manifest.version, manifest.api_version) == (
        "bosh-vsphere-esxi-ubuntu-jammy-go_agent",
        "0.0.1",
        3,
    )
    assert manifest.cloud_properties["disk"] == 5120 and manifest.operating_system == "ubuntu-jammy"
    summary = inspect(str(TARBALL))
    assert (summary.name, summary.version, summary.api_version, summary.os) == (
        manifest.name,
        "0.0.1",
        3,
        "ubuntu-jammy",
    )
    assert (summary.disk_bytes, summary.cpus, summary.memory_mb) == (1 << 20, 1, 512)
    bare = inspect(str(IMAGE))
    assert (bare.version, bare.disk_bytes, bare.os) == (None, 1 << 20, "ubuntu64Guest")


def test_only_a_tarball_holding_a_stemcell_manifest_is_a_stemcell(tmp_path: Path) -> None:
    assert tarball_manifest(str(TARBALL)) == read_stemcell_manifest(str(TARBALL))
    assert tarball_manifest(str(tmp_path / "image")) is None  # decided by the name: a bare image is not read
    bare_tgz = tmp_path / "image.tgz"
    shutil.copyfile(IMAGE, bare_tgz)
    assert tarball_manifest(str(bare_tgz)) is None
    assert inspect(str(bare_tgz)).version is None


def test_inspect_reads_a_stemcell_tarball_once(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real = archive.iter_members

    def counting(source: Any, **kwargs: Any) -> Any:
        opened.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(archive, "iter_members", counting)
    assert inspect(str(TARBALL)).version == "0.0.1"
    assert opened.count(str(TARBALL)) == 1


def test_a_stemcell_tarball_without_an_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stemcell.tgz"
    path.write_bytes(make_stemcell.tgz({"stemcell.MF": make_stemcell.stemcell_manifest(make_stemcell.image())}))
    with pytest.raises(StemcellError, match="needs both"):
        inspect(str(path))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"name: [", "not valid YAML"),
        (b"version: 1", "lacks a name"),
        (b"name: a\nversion: 1\napi_version: x", "api_version"),
    ],
)
def test_bad_stemcell_manifests(text: bytes, match: str) -> None:
    with pytest.raises(StemcellError, match=match):
        parse_stemcell_manifest(text)
