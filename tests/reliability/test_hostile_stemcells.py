"""Hostile stemcell images through create_stemcell: refused with a clear error, nothing written anywhere.

Each ``image`` is built here with ``tarfile`` from the committed fixture image
(``fixtures/stemcell/image``): the same package made hostile one way at a time.
The CPI must answer ``CloudError`` saying it was importing that image and why,
leave no ``cs-*`` directory, write nothing outside the store (a canary
directory the tricks aim at stays empty) and leave no temporary directory
behind. The untouched fixture goes through the same path and imports, so each
refusal is the hostility's doing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cpi.conftest import Cpi

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "stemcell" / "image"
PROPS = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "0.0.1"}
TIB = 1 << 40


def members() -> dict[str, bytes]:
    with tarfile.open(FIXTURE) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def pack(files: dict[str, bytes], extra: list[tarfile.TarInfo] = (), *, compress: bool = True) -> bytes:  # type: ignore[assignment]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return gzip.compress(raw.getvalue(), compresslevel=1) if compress else raw.getvalue()


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def with_ovf(change: Callable[[str], str]) -> bytes:
    """The fixture with its OVF rewritten, and the manifest's digest updated to match (so only the OVF is wrong)."""
    files = members()
    files["image.ovf"] = change(files["image.ovf"].decode()).encode()
    digest = hashlib.sha1(files["image.ovf"]).hexdigest()
    files["image.mf"] = re.sub(rb"(SHA1\(image\.ovf\)= )\w+", rb"\g<1>" + digest.encode(), files["image.mf"])
    return pack(files)


def huge_header() -> bytes:
    """A member header claiming 100 TiB, followed by nothing: refused from the header alone."""
    info = tarfile.TarInfo("image-disk1.vmdk")
    info.size = 100 * TIB
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)


def bomb() -> bytes:
    """200 MiB of zeros in 200 KiB: stopped by the decompression ratio long before it is all read."""
    files = members()
    files["image-disk1.vmdk"] = bytes(200 << 20)
    return pack(files)


HOSTILE: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "path-traversal": (lambda out: pack({**members(), "../outside/pwned": b"x"}), "escaping path"),
    "absolute-path": (lambda out: pack({**members(), f"{out}/pwned": b"x"}), "absolute or escaping path"),
    "symlink-out": (
        lambda out: pack(members(), [special("image-disk1.vmdk", tarfile.SYMTYPE, str(out / "pwned"))]),
        "links are not allowed",
    ),
    "symlink-dir-then-file": (
        lambda out: pack({"esc/pwned": b"x"}, [special("esc", tarfile.SYMTYPE, str(out))]),
        "links are not allowed",
    ),
    "hardlink-out": (
        lambda out: pack(members(), [special("copy", tarfile.LNKTYPE, "/etc/passwd")]),
        "links are not allowed",
    ),
    "char-device": (lambda out: pack(members(), [special("tty", tarfile.CHRTYPE)]), "device, fifo or other special"),
    "fifo": (lambda out: pack(members(), [special("pipe", tarfile.FIFOTYPE)]), "device, fifo or other special"),
    "huge-member": (lambda out: huge_header(), "over the member limit"),
    "decompression-bomb": (lambda out: bomb(), "decompression bomb"),
    "absurd-disk": (
        lambda out: with_ovf(lambda t: t.replace('ovf:capacity="1"', 'ovf:capacity="99999999999999"')),
        "absurd capacity",
    ),
    "absurd-memory": (
        lambda out: with_ovf(
            lambda t: t.replace(
                "<rasd:VirtualQuantity>512</rasd:VirtualQuantity>",
                "<rasd:VirtualQuantity>999999999999</rasd:VirtualQuantity>",
            )
        ),
        "memory",
    ),
    "absurd-cpus": (
        lambda out: with_ovf(
            lambda t: t.replace(
                "<rasd:VirtualQuantity>1</rasd:VirtualQuantity>",
                "<rasd:VirtualQuantity>100000</rasd:VirtualQuantity>",
                1,
            )
        ),
        "CPUs",
    ),
    "entity-expansion": (
        lambda out: with_ovf(
            lambda t: t.replace(
                "?>", '?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', 1
            )
        ),
        "DOCTYPE",
    ),
    "not-a-tarball": (lambda out: b"\x1f\x8b" + b"garbage" * 100, "not a readable tar archive"),
}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private system temp dir (so leftovers are visible) and the canary dir the tricks aim at."""
    temp = tmp_path / "systemp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (tmp_path / "outside").mkdir()
    return tmp_path


def test_the_untouched_fixture_imports_through_the_same_path(cpi: Cpi, sandbox: Path) -> None:
    image = sandbox / "image"
    image.write_bytes(pack(members()))
    stemcell = cpi("create_stemcell", str(image), PROPS)
    assert (cpi.store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx").exists()
    assert list((sandbox / "systemp").iterdir()) == []


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_image_is_refused_and_leaves_nothing(cpi: Cpi, sandbox: Path, case: str) -> None:
    build, reason = HOSTILE[case]
    image = sandbox / "work" / "image"
    image.parent.mkdir()
    image.write_bytes(build(sandbox / "outside"))
    error = cpi.error("create_stemcell", str(image), PROPS)
    assert error["type"] == "Bosh::Clouds::CloudError"
    assert error["message"].startswith(f"Importing stemcell image '{image}'"), error["message"]
    assert reason in error["message"], error["message"]
    assert not [p for p in cpi.store.iterdir() if p.name.startswith("cs-")] if cpi.store.exists() else True
    assert list((sandbox / "outside").iterdir()) == []
    assert sorted(p.name for p in image.parent.iterdir()) == ["image"]
    assert list((sandbox / "systemp").iterdir()) == []
