"""The simulated guest's CD-ROM reader reads what Linux's isofs reads, by the names it shows."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from toolkit.formats.iso import build_iso
from vmtk_sim.isofs import CdromError, read_root_files

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"


def test_the_reference_cpis_iso9660wrap_image_reads_although_its_path_table_size_is_wrong() -> None:
    image = (REFERENCE / "iso9660wrap-env.iso").read_bytes()
    assert struct.unpack_from("<I", image, 16 * 2048 + 132)[0] == 2048  # declared; the table holds 10 bytes
    files = read_root_files(image)
    assert list(files) == ["env"] and files["env"].startswith(b'{"agent_id":"agent-b"')


def test_a_mkisofs_image_shows_its_iso9660_name_mapped_to_lower_case() -> None:
    files = read_root_files((REFERENCE / "env.iso").read_bytes())  # ENV.;1, no Rock Ridge, no Joliet
    assert list(files) == ["env"] and files["env"].startswith(b"{")


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [({}, "mixed.nam"), ({"joliet": 3}, "Mixed.Name"), ({"rock_ridge": "1.09"}, "Mixed.Name")],
    ids=["iso9660", "joliet", "rock-ridge"],
)
def test_names_come_from_rock_ridge_else_joliet_else_iso9660(extensions: dict[str, object], expected: str) -> None:
    import io

    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, **extensions)  # type: ignore[arg-type]
    names = {"rr_name": "Mixed.Name"} if "rock_ridge" in extensions else {}
    names |= {"joliet_path": "/Mixed.Name"} if "joliet" in extensions else {}
    iso.add_fp(io.BytesIO(b"data"), 4, "/MIXED.NAM;1", **names)  # type: ignore[arg-type]
    out = io.BytesIO()
    iso.write_fp(out)
    assert read_root_files(out.getvalue()) == {expected: b"data"}


def test_our_own_settings_image_reads_as_env() -> None:
    assert read_root_files(build_iso({"env": b"{}"})) == {"env": b"{}"}


@pytest.mark.parametrize("damage", ["empty", "no-descriptor", "extent-beyond-end"])
def test_what_would_not_mount_is_an_error(damage: str) -> None:
    image = bytearray(build_iso({"env": b"{}"}))
    if damage == "empty":
        image = bytearray()
    elif damage == "no-descriptor":
        image[16 * 2048 + 1 : 16 * 2048 + 6] = b"XXXXX"
    else:
        struct.pack_into("<I", image, 16 * 2048 + 156 + 2, 10_000)  # the root directory's extent
    with pytest.raises(CdromError):
        read_root_files(bytes(image))
