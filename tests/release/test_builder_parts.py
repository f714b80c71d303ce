"""The builder's pure parts: reproducible archives, fingerprints, the blob index, pure wheels."""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release.blobs import Blob, read_index, render_index
from release.errors import ReleaseBuildError
from release.tarballs import Entry, fingerprint, tgz
from release.wheelfile import pyyaml_wheel, write_wheel

paths = st.lists(
    st.text("abcxyz_/.", min_size=1, max_size=12).filter(
        lambda p: (
            not p.startswith("/")
            and "//" not in p
            and not p.endswith("/")
            and "." not in p.split("/")
            and ".." not in p.split("/")
        )
    ),
    min_size=1,
    max_size=6,
    unique=True,
)


@given(paths, st.data())
def test_tgz_round_trips_and_ignores_input_order(names: list[str], data: st.DataObject) -> None:
    entries = [
        Entry(n, data.draw(st.binary(max_size=64)), data.draw(st.sampled_from([0o644, 0o755])))
        for n in names
        if not any(o.startswith(n + "/") for o in names)
    ]
    blob = tgz(entries)
    assert blob == tgz(list(reversed(entries)))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        back = {m.name.removeprefix("./"): (tar.extractfile(m).read(), m.mode) for m in tar.getmembers()}  # type: ignore[union-attr]
    assert back == {e.path: (e.data, e.mode) for e in entries}


def test_fingerprint_changes_with_content_mode_name_and_dependencies() -> None:
    base = [Entry("packaging", b"echo", 0o755), Entry("wheels/a.whl", b"A")]
    same = fingerprint(list(reversed(base)))
    assert fingerprint(base) == same
    variants = [
        [Entry("packaging", b"echo!", 0o755), base[1]],
        [Entry("packaging", b"echo", 0o644), base[1]],
        [base[0], Entry("wheels/b.whl", b"A")],
    ]
    assert len({same, *(fingerprint(v) for v in variants), fingerprint(base, ["python3"])}) == 5


def test_blob_index_round_trips() -> None:
    blobs = [Blob("wheels/b.whl", 2, "bb" * 32), Blob("sources/a.tar.gz", 10, "aa" * 32)]
    assert read_index(render_index(blobs)) == sorted(blobs, key=lambda b: b.path)
    with pytest.raises(ReleaseBuildError, match="malformed"):
        read_index("wheels/x.whl: {size: 1}\n")


def test_written_wheel_is_reproducible_and_imports(tmp_path: Path) -> None:
    name, data = write_wheel(
        "demo_pkg",
        "1.0",
        {"demo_pkg/__init__.py": b"VALUE = 42\n"},
        b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n",
    )
    assert (
        name == "demo_pkg-1.0-py3-none-any.whl"
        and write_wheel(
            "demo_pkg",
            "1.0",
            {"demo_pkg/__init__.py": b"VALUE = 42\n"},
            b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n",
        )[1]
        == data
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        record = archive.read("demo_pkg-1.0.dist-info/RECORD").decode()
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "demo_pkg/__init__.py,sha256=" in record and record.endswith("demo_pkg-1.0.dist-info/RECORD,,\n")
    (tmp_path / name).write_bytes(data)
    sys.path.insert(0, str(tmp_path / name))
    try:
        import demo_pkg  # type: ignore[import-not-found]

        assert demo_pkg.VALUE == 42
    finally:
        sys.path.remove(str(tmp_path / name))
        sys.modules.pop("demo_pkg", None)


def _sdist(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_pyyaml_wheel_takes_only_the_pure_package() -> None:
    sdist = _sdist(
        {
            "pyyaml-9.1/PKG-INFO": b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 9.1\n",
            "pyyaml-9.1/lib/yaml/__init__.py": b"",
            "pyyaml-9.1/lib/yaml/cyaml.py": b"",
            "pyyaml-9.1/lib/_yaml/__init__.py": b"",
            "pyyaml-9.1/yaml/_yaml.pyx": b"",
        }
    )
    name, data = pyyaml_wheel(sdist)
    assert name == "PyYAML-9.1-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(n for n in archive.namelist() if not n.startswith("PyYAML-9.1.dist-info/")) == [
            "yaml/__init__.py",
            "yaml/cyaml.py",
        ]


def test_pyyaml_wheel_refuses_an_sdist_without_the_package() -> None:
    with pytest.raises(ReleaseBuildError, match="lib/yaml"):
        pyyaml_wheel(_sdist({"x-1/PKG-INFO": b"Version: 1\n"}))


def _download_requirements() -> list[str]:
    """Every requirement and constraint ``blobs.download`` hands pip, read by running it with a recorder."""
    from release import blobs

    seen: list[str] = []

    def record(argv: list[str]) -> None:
        for i, arg in enumerate(argv):
            if arg == "-c":
                seen.extend(Path(argv[i + 1]).read_text().split())
            elif "==" in arg:
                seen.append(arg)

    blobs.download(Path("/nonexistent"), record)  # type: ignore[arg-type]
    return seen


def test_every_pinned_file_comes_from_an_exact_pin() -> None:
    # An unpinned dependency (wheel's packaging, cffi's pycparser) takes whatever is newest on
    # the index the day it is downloaded, and the digests in blobs.yml stop matching.
    index = read_index((Path(__file__).resolve().parents[2] / "release/config/blobs.yml").read_text())
    pinned = {tuple(r.lower().replace("_", "-").split("==")) for r in _download_requirements()}
    for blob in index:
        name, version = Path(blob.path).name.split("-")[:2]
        name = name.lower().replace("_", "-")
        if name == "pyyaml":
            version = version.removesuffix(".tar.gz")
        assert (name, version) in pinned, f"{blob.path} is not pinned exactly"
