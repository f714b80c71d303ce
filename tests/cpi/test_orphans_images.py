"""Orphans in the image cache of SSH mode (``.images``), on a store built by real CPI calls over SSH.

Stemcells are imported with create_stemcell through a real OpenSSH server, so
``.images/<sha256>/`` and each stemcell's ``image.sha256`` are as ``cpi.images``
writes them; the damage is what a cut-off call leaves. Finding and removing go
through an ``SshRunner`` as ``vmtk --ssh`` does, so the image's import lock is the
very lock a CPI process on the same machine holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cpi.images import IMAGE_VMX, IMAGES, lock_name
from cpi.orphans import Orphan, OrphanKind, find_orphans, remove_orphan
from cpi.store import Store
from tests.cpi.client import Cpi
from tests.cpi.hosts import ssh_cpi
from tests.support.sshd import Sshd

if TYPE_CHECKING:
    from toolkit.host.ssh.runner import SshRunner

pytestmark = pytest.mark.real_process  # sshd and vmrun-sim are real programs

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
STEMCELL_PROPS = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "0.0.1"}


def ssh_mode_cpi(server: Sshd, folder: Path) -> Cpi:
    """A Cpi in SSH mode (so with the image cache) whose host is vmrun-sim behind ``server``."""
    pytest.importorskip("paramiko", reason="SSH mode needs paramiko (the ssh extra)")
    return ssh_cpi(folder, server)


def make_image(path: Path, *, stamp: int = 0) -> Path:
    """A stemcell ``image`` (OVF descriptor + streamOptimized disk); ``stamp`` changes its SHA-256 only."""
    with tarfile.open(path, "w") as tar:
        for name in ("image.ovf", "image.vmdk"):
            info = tar.gettarinfo(str(REFERENCE / name), arcname=name)
            info.mtime = stamp
            with (REFERENCE / name).open("rb") as data:
                tar.addfile(info, data)
    return path


def digest_of(image: Path) -> str:
    return hashlib.sha256(image.read_bytes()).hexdigest()


@dataclass
class Cached:
    """An SSH-mode store: stemcell ``stemcell`` cloned from the cached image ``digest``."""

    cpi: Cpi
    store: Store  # over its own SshRunner, as ``vmtk --ssh store gc`` reaches the store
    image: Path
    stemcell: str

    @property
    def images(self) -> Path:
        return self.cpi.store / IMAGES

    @property
    def digest(self) -> str:
        return digest_of(self.image)

    def import_(self, image: Path) -> str:
        return str(self.cpi("create_stemcell", str(image), STEMCELL_PROPS))


@contextlib.contextmanager
def ssh_store(cpi: Cpi) -> Iterator[Store]:
    """``cpi``'s store through a connection of its own: another process's view (gc, or a CPI importing)."""
    runner: SshRunner = cpi.host.runner()
    try:
        yield Store(runner, str(cpi.store), lock_timeout=5.0)
    finally:
        runner.close()


@pytest.fixture
def cached(sshd: Sshd, tmp_path: Path) -> Iterator[Cached]:
    cpi = ssh_mode_cpi(sshd, tmp_path)
    image = make_image(tmp_path / "image")
    stemcell = str(cpi("create_stemcell", str(image), STEMCELL_PROPS))
    with ssh_store(cpi) as store:
        yield Cached(cpi, store, image, stemcell)


def unused_image(cached: Cached, tmp_path: Path) -> Orphan:
    """delete_stemcell cut off after removing the stemcell, before releasing its image."""
    image = make_image(tmp_path / "other-image", stamp=1)
    shutil.rmtree(cached.cpi.store / f"cs-{cached.import_(image)}")
    return Orphan(OrphanKind.UNUSED_IMAGE, str(cached.images / digest_of(image)))


def staging_leftover(cached: Cached, digest: str) -> Orphan:
    """create_stemcell whose upload was cut off by a dropped connection (its name as cpi.images makes it)."""
    staging = cached.images / f"{digest}.tmp-0dead000"
    staging.mkdir()
    (staging / "image-disk1.vmdk.tmp-1234abcd").write_bytes(b"KDMV" + b"\0" * 1000)
    return Orphan(OrphanKind.INTERRUPTED_IMPORT, str(staging))


def test_the_live_image_cache_is_no_orphan(cached: Cached) -> None:
    assert (cached.images / cached.digest / IMAGE_VMX).exists()
    assert (cached.cpi.store / f"cs-{cached.stemcell}" / "image.sha256").read_text() == cached.digest
    assert find_orphans(cached.store) == []


def test_collecting_keeps_the_live_image_and_its_stemcell_still_makes_vms(cached: Cached, tmp_path: Path) -> None:
    image_vmx = (cached.images / cached.digest / IMAGE_VMX).read_bytes()
    damage = [unused_image(cached, tmp_path), staging_leftover(cached, "0" * 64)]
    found = find_orphans(cached.store)
    assert found == sorted(damage, key=lambda o: o.path)
    assert all(remove_orphan(cached.store, orphan) for orphan in found)
    assert sorted(p.name for p in cached.images.iterdir()) == [cached.digest]
    assert (cached.images / cached.digest / IMAGE_VMX).read_bytes() == image_vmx
    vm, _ = cached.cpi.create_vm(cached.stemcell)
    assert cached.cpi.is_running(vm)
    second = cached.import_(cached.image)  # the kept copy is the source of a new stemcell
    assert (cached.cpi.store / f"cs-{second}" / "image.sha256").read_text() == cached.digest
    assert find_orphans(cached.store) == []


def test_an_image_no_stemcell_uses_is_removed(cached: Cached, tmp_path: Path) -> None:
    orphan = unused_image(cached, tmp_path)
    assert find_orphans(cached.store) == [orphan] and orphan.why == "no stemcell uses this image"
    assert remove_orphan(cached.store, orphan) is True
    assert not Path(orphan.path).exists() and (cached.images / cached.digest).is_dir()


def test_a_staging_leftover_of_a_cut_off_import_is_removed(cached: Cached) -> None:
    orphan = staging_leftover(cached, cached.digest)  # even of an image that is in use
    assert find_orphans(cached.store) == [orphan]
    assert remove_orphan(cached.store, orphan) is True
    assert sorted(p.name for p in cached.images.iterdir()) == [cached.digest]


def test_nothing_of_an_image_whose_import_holds_its_lock_is_touched(cached: Cached, tmp_path: Path) -> None:
    unused = unused_image(cached, tmp_path)
    staging = staging_leftover(cached, Path(unused.path).name)
    found = find_orphans(cached.store)
    assert found == [unused, staging]
    with (
        ssh_store(cached.cpi) as importer,
        importer.lock(lock_name(Path(unused.path).name)),
    ):  # as ImageCache.make_template holds it
        assert find_orphans(cached.store) == []
        assert [remove_orphan(cached.store, orphan) for orphan in found] == [False, False]
    assert Path(unused.path).is_dir() and Path(staging.path).is_dir()
    assert find_orphans(cached.store) == found  # the import is over: orphans again


def test_an_image_a_stemcell_came_to_use_meanwhile_is_kept(cached: Cached, tmp_path: Path) -> None:
    orphan = unused_image(cached, tmp_path)
    cloned = cached.cpi.new_stemcell()  # create_stemcell cloned that image between finding and removing
    (cached.cpi.store / f"cs-{cloned}" / "image.sha256").write_text(Path(orphan.path).name)
    assert remove_orphan(cached.store, orphan) is False
    assert Path(orphan.path).is_dir()


def test_a_foreign_name_in_the_cache_is_foreign_not_the_cache(cached: Cached) -> None:
    (cached.images / "notes.txt").write_text("mine")
    assert find_orphans(cached.store) == [Orphan(OrphanKind.FOREIGN, str(cached.images / "notes.txt"))]
