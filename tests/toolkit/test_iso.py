from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pycdlib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import IsoError
from toolkit.formats.iso import build_iso, read_iso, read_settings_iso, settings_iso
from toolkit.host.runner import LocalRunner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
settings_dicts = st.dictionaries(st.text(max_size=12), json_values, max_size=6)


def names(image: bytes) -> dict[str, list[str]]:
    """The file names each of the image's name sets holds, read with pycdlib directly."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    found = {facade: sorted(next(iso.walk(**{facade: "/"}))[2]) for facade in ("iso_path", "joliet_path", "rr_path")}
    iso.close()
    return found


def test_the_mkisofs_image_reads_as_env_with_the_agent_settings() -> None:
    data = (FIXTURES / "env.iso").read_bytes()
    assert list(read_iso(data)) == ["env"]
    settings_read = read_settings_iso(data)
    assert settings_read["agent_id"] == "c292e270-d067-45a9-553d-645c9c7c4fd9"
    assert settings_read["vm"] == {"name": "vm-d70f1f0d-b9b8-4ad9-b9c0-9cd45853349f", "id": "vm-54443"}


def test_the_reference_cpis_iso9660wrap_image_reads_although_its_path_table_size_is_wrong() -> None:
    """Linux never reads path tables, so the agent reads this image: no stricter than the kernel."""
    data = (FIXTURES / "iso9660wrap-env.iso").read_bytes()
    assert read_settings_iso(data)["agent_id"] == "agent-b"


def test_a_settings_image_names_its_file_for_every_guest() -> None:
    image = settings_iso({"agent_id": "a1"})
    assert names(image) == {"iso_path": ["ENV.;1"], "joliet_path": ["env"], "rr_path": ["env"]}
    assert list(read_iso(image)) == ["env"]


def test_the_settings_file_is_canonical_json() -> None:
    image = settings_iso({"b": [1, {"z": "é", "a": None}], "a": 2})
    assert read_iso(image)["env"] == '{"a":2,"b":[1,{"a":null,"z":"é"}]}'.encode()


@settings(max_examples=40, deadline=None)
@given(settings_dicts)
def test_settings_round_trip_and_insertion_order_does_not_matter(value: dict[str, object]) -> None:
    image = settings_iso(value)
    assert read_settings_iso(image) == value
    reordered = dict(reversed(list(value.items())))
    assert read_iso(settings_iso(reordered)) == read_iso(image)


def test_names_that_fold_to_the_same_8_3_name_all_survive() -> None:
    files = {"env": b"1", "ENV": b"2", "user_data.json": b"3", "a.b.c": b"", "noext": b"4" * 5000}
    image = build_iso(files)
    assert read_iso(image) == files
    level1 = names(image)["iso_path"]
    assert len(set(level1)) == 5 and "USER_DAT.JSO;1" in level1


def test_the_volume_id_is_kept() -> None:
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(build_iso({"env": b"{}"}, volume_id="SETTINGS")))
    assert iso.pvd.volume_identifier.rstrip() == b"SETTINGS"
    iso.close()


@pytest.mark.parametrize("name", ["", "dir/env", ".", "x" * 65])
def test_names_a_flat_image_cannot_hold_are_refused(name: str) -> None:
    with pytest.raises(IsoError, match="invalid ISO file name"):
        build_iso({name: b""})


def test_a_volume_id_that_is_too_long_is_an_iso_error() -> None:
    with pytest.raises(IsoError):
        build_iso({"env": b""}, volume_id="V" * 33)


@pytest.mark.parametrize("data", [b"", os.urandom(64 * 1024), (FIXTURES / "env.iso").read_bytes()[:40000]])
def test_unreadable_images_are_iso_errors(data: bytes) -> None:
    with pytest.raises(IsoError, match="unreadable"):
        read_iso(data)


def test_a_settings_image_without_env_or_with_broken_json_is_an_iso_error() -> None:
    with pytest.raises(IsoError, match="no 'env'"):
        read_settings_iso(build_iso({"other": b"{}"}))
    with pytest.raises(IsoError, match="not JSON"):
        read_settings_iso(build_iso({"env": b"{nope"}))
    with pytest.raises(IsoError, match="JSON object"):
        read_settings_iso(build_iso({"env": b"[1]"}))


@pytest.mark.real_process
@pytest.mark.skipif(shutil.which("isoinfo") is None, reason="isoinfo not installed")
def test_isoinfo_sees_rock_ridge_and_joliet_names(tmp_path: Path) -> None:
    path = tmp_path / "env.iso"
    path.write_bytes(settings_iso({"agent_id": "a1"}))
    for flag in ("-R", "-J"):
        listing = LocalRunner().run(["isoinfo", flag, "-f", "-i", str(path)], timeout=30)
        assert listing.stdout.split() == ["/env"]
    extracted = LocalRunner().run(["isoinfo", "-R", "-x", "/env", "-i", str(path)], timeout=30)
    assert json.loads(extracted.stdout) == {"agent_id": "a1"}
