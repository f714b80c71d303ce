"""The ovftool model: the real message sequence, files as ovftool leaves them, the real errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from toolkit.formats import vmdk
from toolkit.host.clock import FakeClock
from toolkit.vmware.vmx import Vmx
from vmtk_sim.ovftool_model import run_ovftool

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
OUTPUTS = FIXTURES / "outputs" / "ovftool"
IMPORT = ["--acceptAllEulas", "--allowExtraConfig", "--sourceType=OVF", "--targetType=VMX"]


@pytest.fixture
def ovf(tmp_path: Path) -> Path:
    """The reference OVF + disk + a manifest that names them, in a source directory."""
    from fixtures.make_stemcell import image_files

    source = tmp_path / "src"
    source.mkdir()
    for name, data in image_files().items():
        (source / name).write_bytes(data)
    return source / "image.ovf"


def _run(*args: str) -> tuple[int, str, str]:
    chunks: list[str] = []
    code, out, err = run_ovftool(list(args), clock=FakeClock(), on_output=chunks.append)
    assert "".join(chunks) == out  # everything printed was streamed as it happened
    return code, out, err


def test_version_is_the_real_line() -> None:
    for flag in ("-v", "--version"):
        assert _run(flag) == (0, (OUTPUTS / "version.txt").read_text(), "")


def test_an_import_prints_the_real_sequence_and_writes_vmx_and_sparse_disk(ovf: Path, tmp_path: Path) -> None:
    vmx = tmp_path / "store" / "cs-1" / "cs-1.vmx"
    code, out, _ = _run(*IMPORT, "--name=cs-1", str(ovf), str(vmx))
    assert code == 0
    head, progress = out.split(f"Writing VMX file: {vmx}\n")
    assert head == f"Opening OVF source: {ovf}\nThe manifest validates\nOpening VMX target: {vmx}\n"
    *steps, tail = progress.split("\r")
    assert steps and all(s.startswith("Disk progress: ") and s.endswith("%") for s in steps)
    assert tail == "Transfer Completed                    \nCompleted successfully\n"
    assert tail.splitlines()[0] == (OUTPUTS / "import.txt").read_bytes().decode().split("\r")[-1].splitlines()[0]
    written = Vmx.parse(vmx.read_bytes())
    assert written["displayname"] == "cs-1" and written["scsi0:0.fileName"] == "cs-1-disk1.vmdk"
    with open(vmx.parent / "cs-1-disk1.vmdk", "rb") as disk:
        assert vmdk.info(disk).create_type == "monolithicSparse"


def test_an_existing_target_is_the_real_error(ovf: Path, tmp_path: Path) -> None:
    vmx = tmp_path / "app.vmx"
    vmx.write_text("keep")
    code, out, _ = _run(*IMPORT, "--name=app", str(ovf), str(vmx))
    expected = (OUTPUTS / "import-exists.txt").read_text().splitlines()[-2:]
    assert code != 0 and out.splitlines()[-2:] == expected and vmx.read_text() == "keep"


def test_a_missing_source_fails(tmp_path: Path) -> None:
    code, out, _ = _run(*IMPORT, str(tmp_path / "nope.ovf"), str(tmp_path / "x.vmx"))
    assert code != 0 and out.splitlines()[-1] == "Completed with errors" and "nope.ovf" in out
    assert not (tmp_path / "x.vmx").exists()


def test_a_foreign_hardware_family_needs_lax(ovf: Path, tmp_path: Path) -> None:
    ovf.write_text(ovf.read_text().replace("vmx-09", "virtualbox-2.2"))
    (ovf.parent / "image.mf").unlink()
    code, out, _ = _run(*IMPORT, str(ovf), str(tmp_path / "a.vmx"))
    assert code != 0 and out.splitlines()[-3:] == [
        "Error: OVF Package is not supported by target:",
        " - Line 23: Unsupported hardware family 'virtualbox-2.2'.",
        "Completed with errors",
    ]
    code, out, _ = _run("--lax", *IMPORT, str(ovf), str(tmp_path / "a.vmx"))
    assert code == 0 and "Warning:\n - Line 23: Unsupported hardware family 'virtualbox-2.2'.\n" in out
    warnings = "Warning:\n - No manifest entry found for: 'image-disk1.vmdk'.\n - No manifest file found.\n"
    assert out.endswith(warnings + "Completed successfully\n")  # as in the captured import-lax.txt


def test_a_tampered_disk_fails_the_manifest_and_leaves_nothing(ovf: Path, tmp_path: Path) -> None:
    disk = ovf.parent / "image-disk1.vmdk"
    data = bytearray(disk.read_bytes())
    data[-600] ^= 0xFF
    disk.write_bytes(bytes(data))
    code, out, _ = _run(*IMPORT, "--name=t", str(ovf), str(tmp_path / "t" / "t.vmx"))
    assert code != 0 and out.endswith("Completed with errors\n")
    assert not list((tmp_path / "t").glob("*")) if (tmp_path / "t").exists() else True


def test_an_ova_and_a_directory_target(ovf: Path, tmp_path: Path) -> None:
    import tarfile

    ova = tmp_path / "web.ova"
    with tarfile.open(ova, "w") as tar:
        for name in ("image.ovf", "image.mf", "image-disk1.vmdk"):
            tar.add(ovf.parent / name, arcname=name)
    code, out, _ = _run("--name=web", str(ova), str(tmp_path / "vms"))
    assert code == 0 and out.startswith(f"Opening OVA source: {ova}\nThe manifest validates\n")
    assert (tmp_path / "vms" / "web" / "web.vmx").exists() and (tmp_path / "vms" / "web" / "web-disk1.vmdk").exists()
    shutil.rmtree(tmp_path / "vms")


VMX_CLONE = ["--sourceType=VMX", "--allowAllExtraConfig=true", "--allowExtraConfig=true", "--targetType=VMX"]


def _imported(ovf: Path, tmp_path: Path) -> Path:
    vmx = tmp_path / "store" / "cs-1" / "cs-1.vmx"
    assert _run(*IMPORT, "--name=cs-1", str(ovf), str(vmx))[0] == 0
    return vmx


def test_a_vmx_source_is_copied_to_a_new_vm_with_its_own_disk(ovf: Path, tmp_path: Path) -> None:
    """The reference clones this way on Player; its driver_test.go expects <name>-disk1.vmdk on VMware."""
    source = _imported(ovf, tmp_path)
    target = tmp_path / "store" / "vm-1" / "vm-1.vmx"
    code, out, _ = _run(*VMX_CLONE, "--name=vm-1", str(source), str(target))
    assert code == 0 and out.startswith(
        f"Opening VMX source: {source}\nOpening VMX target: {target}\nWriting VMX file: {target}\n"
    )
    assert out.endswith("Transfer Completed" + " " * 20 + "\nCompleted successfully\n")
    config = Vmx.parse(target.read_bytes())
    assert config.get("scsi0:0.fileName") == "vm-1-disk1.vmdk" and config.get("displayName") == "vm-1"
    with open(target.with_name("vm-1-disk1.vmdk"), "rb") as handle:
        assert vmdk.info(handle).create_type == "monolithicSparse"
    assert Vmx.parse(source.read_bytes()).get("scsi0:0.fileName") == "cs-1-disk1.vmdk"  # the source is untouched


def test_a_vmx_source_that_is_missing_or_exists_fails_as_ovftool_does(ovf: Path, tmp_path: Path) -> None:
    source = _imported(ovf, tmp_path)
    code, out, _ = _run(*VMX_CLONE, str(tmp_path / "nope.vmx"), str(tmp_path / "x" / "x.vmx"))
    assert code == 1 and out.endswith("Completed with errors\n")
    code, out, _ = _run(*VMX_CLONE, str(source), str(source))
    assert code == 1 and "Error: Target already exists: cs-1.vmx\n" in out


def test_a_manifest_naming_files_the_package_lacks_only_warns(tmp_path: Path) -> None:
    """The reference's fixture image.mf lists test.ovf/test.vmdk; it imports on VMware (driver_test.go)."""
    source = tmp_path / "ref"
    shutil.copytree(FIXTURES / "reference", source)
    vmx = tmp_path / "cs" / "cs.vmx"
    code, out, _ = _run(*IMPORT, "--name=cs", str(source / "image.ovf"), str(vmx))
    assert code == 0, out
    assert out.endswith("Warning:\n - No manifest entry found for: 'image.vmdk'.\nCompleted successfully\n")
    assert vmx.with_name("cs-disk1.vmdk").stat().st_size == 65536


def test_the_simulators_own_rendering_is_what_ovftool_wrote_for_the_reference_fixture() -> None:
    """fixtures/reference/image.vmx is ovftool's output for image.ovf (its disk named image.vmdk there)."""
    from toolkit.formats.ovf import parse_ovf
    from vmtk_sim.ovf_render import vmx_for

    spec = parse_ovf((FIXTURES / "reference" / "image.ovf").read_bytes())
    rendered = vmx_for(spec, name="vm-virtualmachine", prefix="vm-virtualmachine")
    rendered.set("scsi0:0.fileName", "image.vmdk")
    assert rendered.dumps() == (FIXTURES / "reference" / "image.vmx").read_bytes()
