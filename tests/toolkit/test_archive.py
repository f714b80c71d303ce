"""Safe tar reading: hostile archives are refused by name and leave nothing behind."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import StemcellError, UnsafeArchiveError
from toolkit.formats import archive
from toolkit.formats.archive import Limits

Entry = Callable[[tarfile.TarFile], None]


def _file(name: str, data: bytes = b"x") -> Entry:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    return add


def _special(name: str, kind: bytes, linkname: str = "") -> Entry:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, linkname
        tar.addfile(info)

    return add


def _tgz(path: Path, *entries: Entry, compress: bool = True) -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            entry(tar)
    path.write_bytes(gzip.compress(raw.getvalue()) if compress else raw.getvalue())
    return str(path)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A place whose neighbours (``tmp_path``) must stay untouched."""
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def test_a_plain_archive_extracts_into_a_fresh_directory(workdir: Path) -> None:
    path = _tgz(workdir / "ok.tgz", _file("./image.ovf", b"<ovf/>"), _file("sub/disk.vmdk", b"d" * 5000))
    dest = archive.extract(path, str(workdir / "out"))
    assert (Path(dest) / "image.ovf").read_bytes() == b"<ovf/>"
    assert (Path(dest) / "sub" / "disk.vmdk").read_bytes() == b"d" * 5000


def test_an_uncompressed_tar_is_read_too(workdir: Path) -> None:
    path = _tgz(workdir / "ok.tar", _file("a", b"1"), compress=False)
    assert [(m.name, s.read()) for m, s in archive.iter_members(path) if s] == [("a", b"1")]


HOSTILE = {
    "absolute": (_file("/etc/evil"), "/etc/evil"),
    "dotdot": (_file("../evil"), "../evil"),
    "nested dotdot": (_file("a/../../evil"), "a/../../evil"),
    "backslash dotdot": (_file("..\\evil"), "..\\evil"),
    "drive letter": (_file("C:/evil"), "C:/evil"),
    "symlink": (_special("link", tarfile.SYMTYPE, "/etc/passwd"), "link"),
    "relative symlink": (_special("link", tarfile.SYMTYPE, "inside"), "link"),
    "hardlink": (_special("hard", tarfile.LNKTYPE, "../../etc/passwd"), "hard"),
    "char device": (_special("dev", tarfile.CHRTYPE), "dev"),
    "block device": (_special("blk", tarfile.BLKTYPE), "blk"),
    "fifo": (_special("pipe", tarfile.FIFOTYPE), "pipe"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_by_name_and_nothing_is_left(case: str, workdir: Path, tmp_path: Path) -> None:
    entry, name = HOSTILE[case]
    path = _tgz(workdir / "bad.tgz", _file("first.txt"), entry, _file("last.txt"))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(UnsafeArchiveError, match=repr(name).replace("\\", "\\\\")):
        archive.extract(path, str(workdir / "out"))
    assert not (workdir / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not Path("/etc/evil").exists() and not (tmp_path / "evil").exists()


def test_a_default_temp_dir_is_removed_on_failure(workdir: Path) -> None:
    import tempfile

    path = _tgz(workdir / "bad.tgz", _file("ok"), _file("../evil"))
    before = set(Path(tempfile.gettempdir()).glob("vmtk-extract-*"))
    with pytest.raises(UnsafeArchiveError):
        archive.extract(path)
    assert set(Path(tempfile.gettempdir()).glob("vmtk-extract-*")) == before


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        (Limits(max_member_bytes=1000), "'big': 4000 bytes is over the member limit"),
        (Limits(max_total_bytes=4015), "'big': total size over 4015"),
        (Limits(max_members=2), "'big': more than 2 members"),
    ],
)
def test_size_and_count_limits(limits: Limits, match: str, workdir: Path) -> None:
    path = _tgz(workdir / "a.tgz", _file("a", b"a" * 10), _file("b", b"b" * 10), _file("big", b"z" * 4000))
    with pytest.raises(UnsafeArchiveError, match=match):
        archive.extract(path, str(workdir / "out"), limits=limits)
    assert not (workdir / "out").exists()


def test_a_decompression_bomb_is_stopped_while_reading(workdir: Path) -> None:
    path = _tgz(workdir / "bomb.tgz", _file("zeros", bytes(4 << 20)))
    assert os.path.getsize(path) < 10_000
    limits = Limits(max_ratio=50, ratio_floor=256 << 10)
    with pytest.raises(UnsafeArchiveError, match="decompression bomb"):
        archive.extract(path, str(workdir / "out"), limits=limits)
    assert not (workdir / "out").exists()


def test_a_repeated_name_is_refused(workdir: Path) -> None:
    path = _tgz(workdir / "dup.tgz", _file("a", b"1"), _file("./a", b"2"))
    with pytest.raises(UnsafeArchiveError, match="'a': repeated"):
        archive.extract(path, str(workdir / "out"))


def test_a_corrupt_archive_is_a_stemcell_error(workdir: Path) -> None:
    good = Path(_tgz(workdir / "ok.tgz", _file("a", os.urandom(50_000))))
    (workdir / "cut.tgz").write_bytes(good.read_bytes()[:-2000])
    (workdir / "junk.tgz").write_bytes(b"not a tarball at all")
    for bad in ("cut.tgz", "junk.tgz"):
        with pytest.raises(StemcellError):
            archive.extract(str(workdir / bad), str(workdir / "out"))
        assert not (workdir / "out").exists()


def test_members_stream_and_nest(workdir: Path) -> None:
    inner = Path(_tgz(workdir / "inner.tgz", _file("image.ovf", b"<Envelope/>")))
    outer = _tgz(workdir / "outer.tgz", _file("stemcell.MF", b"name: x"), _file("image", inner.read_bytes()))
    for member, stream in archive.iter_members(outer):
        if member.name == "image" and stream is not None:
            assert [(m.name, s.read()) for m, s in archive.iter_members(stream) if s] == [("image.ovf", b"<Envelope/>")]
    assert archive.read_member(outer, "./stemcell.MF", max_bytes=100) == b"name: x"
    with pytest.raises(UnsafeArchiveError, match="no member 'missing'"):
        archive.read_member(outer, "missing", max_bytes=100)


@given(st.text(alphabet="ab./\\:", max_size=12))
def test_safe_names_never_escape(name: str) -> None:
    try:
        safe = archive.safe_name(name)
    except UnsafeArchiveError:
        return
    parts = safe.split("/")
    assert ".." not in parts and "" not in parts and not safe.startswith("/") and "\\" not in safe
    assert os.path.normpath(os.path.join("/dest", *parts)).startswith("/dest/")
