"""``vmtk iso`` and ``vmtk disk``: settings images and VMDKs, no VMware involved."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok
from toolkit.formats.iso import read_settings_iso
from toolkit.formats.vmdk import info

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
SETTINGS = {"agent_id": "a1", "networks": {"default": {"mac": "00:50:56:00:00:01"}}, "disks": {"system": "0"}}


def test_iso_build_then_read_round_trips_the_settings(vmtk: Vmtk, tmp_path: Path) -> None:
    source = tmp_path / "settings.json"
    source.write_text(json.dumps(SETTINGS))
    out = tmp_path / "env.iso"
    assert_ok(vmtk("iso", "build", str(source), str(out)))
    assert read_settings_iso(out.read_bytes()) == SETTINGS
    assert json.loads(assert_ok(vmtk("iso", "read", str(out))).stdout) == SETTINGS


def test_iso_build_reads_standard_input(vmtk: Vmtk, tmp_path: Path) -> None:
    out = tmp_path / "env.iso"
    assert_ok(vmtk("iso", "build", "-", str(out), input=json.dumps(SETTINGS)))
    assert read_settings_iso(out.read_bytes()) == SETTINGS


def test_iso_read_understands_an_image_vmware_tooling_wrote(vmtk: Vmtk) -> None:
    settings = json.loads(assert_ok(vmtk("iso", "read", str(FIXTURES / "env.iso"))).stdout)
    assert isinstance(settings, dict) and settings


def test_iso_build_rejects_bad_json_in_one_line(vmtk: Vmtk, tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text("{not json")
    assert_error(vmtk("iso", "build", str(source), str(tmp_path / "x.iso")), "not valid JSON")
    assert not (tmp_path / "x.iso").exists()


def test_iso_read_of_a_missing_file_is_one_error_line(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_error(vmtk("iso", "read", str(tmp_path / "nope.iso")), "nope.iso", "check the path")


def test_a_host_file_error_says_its_reason_once(vmtk: Vmtk, tmp_path: Path) -> None:
    line = assert_error(vmtk("iso", "read", str(tmp_path)), str(tmp_path))
    assert "Errno" not in line and line.lower().count("is a directory") == 1


def test_iso_read_of_a_non_iso_fails_cleanly(vmtk: Vmtk, tmp_path: Path) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\0" * 4096)
    assert_error(vmtk("iso", "read", str(junk)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.integers(), st.text(max_size=12)), max_size=5))
def test_iso_round_trip_holds_for_any_settings(vmtk: Vmtk, tmp_path: Path, settings_: dict[str, object]) -> None:
    out = tmp_path / "any.iso"
    out.unlink(missing_ok=True)
    assert_ok(vmtk("iso", "build", "-", str(out), input=json.dumps(settings_)))
    assert json.loads(assert_ok(vmtk("iso", "read", str(out))).stdout) == settings_


def test_disk_create_makes_a_sparse_disk_of_the_size_asked(vmtk: Vmtk, tmp_path: Path) -> None:
    path = tmp_path / "data.vmdk"
    assert_ok(vmtk("disk", "create", str(path), "--size-mb", "2048"))
    with path.open("rb") as handle:
        found = info(handle)
    assert found.capacity_bytes == 2048 << 20
    assert path.stat().st_size < 4 << 20


def test_disk_create_refuses_to_overwrite(vmtk: Vmtk, tmp_path: Path) -> None:
    path = tmp_path / "data.vmdk"
    path.write_bytes(b"precious")
    assert_error(vmtk("disk", "create", str(path), "--size-mb", "16"), "already exists")
    assert path.read_bytes() == b"precious"


def test_disk_create_needs_a_size(vmtk: Vmtk, tmp_path: Path) -> None:
    result = vmtk("disk", "create", str(tmp_path / "d.vmdk"))
    assert result.exit_code == 2 and "--size-mb" in result.stderr


def test_disk_resize_grows_and_info_reports_it(vmtk: Vmtk, tmp_path: Path) -> None:
    path = str(tmp_path / "data.vmdk")
    assert_ok(vmtk("disk", "create", path, "--size-mb", "64"))
    assert_ok(vmtk("disk", "resize", path, "--size-mb", "128"))
    shown = json.loads(assert_ok(vmtk("disk", "info", path, "--json")).stdout)
    assert shown["capacity_mb"] == 128 and shown["create_type"] == "monolithicSparse"
    assert "capacity_mb: 128" in assert_ok(vmtk("disk", "info", path)).stdout


def test_disk_resize_never_shrinks(vmtk: Vmtk, tmp_path: Path) -> None:
    path = str(tmp_path / "data.vmdk")
    assert_ok(vmtk("disk", "create", path, "--size-mb", "64"))
    assert_error(vmtk("disk", "resize", path, "--size-mb", "32"), "shrink")
    assert json.loads(vmtk("disk", "info", path, "--json").stdout)["capacity_mb"] == 64


def test_disk_info_reads_vmwares_stream_optimized_image(vmtk: Vmtk) -> None:
    shown = json.loads(assert_ok(vmtk("disk", "info", str(FIXTURES / "image.vmdk"), "--json")).stdout)
    assert shown["create_type"] == "streamOptimized" and shown["capacity_bytes"] > 0


def test_disk_create_into_a_missing_directory_names_the_target(vmtk: Vmtk, tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "data.vmdk"
    line = assert_error(vmtk("disk", "create", str(target), "--size-mb", "16"), str(target), "does not exist")
    assert ".tmp-" not in line and "Errno" not in line
    assert not target.parent.exists()


def test_iso_build_into_a_missing_directory_names_the_target(vmtk: Vmtk, tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "env.iso"
    line = assert_error(
        vmtk("iso", "build", "-", str(target), input=json.dumps(SETTINGS)), str(target), "does not exist"
    )
    assert ".tmp-" not in line and "Errno" not in line
    assert not target.parent.exists()


def test_disk_info_of_a_file_that_is_not_a_vmdk_names_it(vmtk: Vmtk, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a disk\n")
    assert_error(vmtk("disk", "info", str(junk)), str(junk), "as a VMDK disk")
    assert junk.read_text() == "not a disk\n"


def test_disk_resize_of_a_file_that_is_not_a_vmdk_names_it(vmtk: Vmtk, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a disk\n")
    assert_error(vmtk("disk", "resize", str(junk), "--size-mb", "8"), str(junk))
    assert junk.read_text() == "not a disk\n"
