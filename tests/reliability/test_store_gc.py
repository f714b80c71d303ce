"""``vmtk store gc`` after crashes: it must sweep what an interrupted call left, and only that.

The states are those a kill -9 leaves (see test_crash.py), built directly so
each case is deterministic: an interrupted create_vm (its directory without a
.vmx, its lock file), a create killed right after taking its lock, and a live
VM whose attached disk carries VMware's ``.vmdk.lck`` lock. (The first two
were defects of the first ``vmtk store gc``, fixed by ``cpi.orphans``.) In SSH
mode, ``vmtk --ssh store gc`` once removed the whole image cache ``.images``
(and with it an import being staged): a store built by create_stemcell over
SSH shows it keeps what is in use and under way.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from cpi.images import IMAGES, lock_name
from tests.cpi.conftest import Cpi
from tests.cpi.test_orphans_images import STEMCELL_PROPS, digest_of, make_image, ssh_mode_cpi, ssh_store
from tests.reliability.leaks import leaks, orphans
from tests.reliability.procs import BIN
from tests.support.sshd import Sshd


def gc(store: Path) -> str:
    done = subprocess.run(
        [str(BIN / "vmtk"), "store", "gc", str(store), "--delete"], capture_output=True, timeout=120, check=True
    )
    return done.stdout.decode()


def interrupted_create(store: Path, *, with_dir: bool) -> str:
    cid = str(uuid.uuid4())
    (store / ".locks").mkdir(parents=True, exist_ok=True)
    (store / ".locks" / f"vm-{cid}.lock").touch()
    if with_dir:
        (store / f"vm-{cid}").mkdir()
        (store / f"vm-{cid}" / "env.json.tmp-0badc0de").write_bytes(b'{"agent_id": "a", "mbus"')
    return cid


@pytest.mark.real_process
def test_gc_removes_an_interrupted_create_and_keeps_live_resources(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    cid = interrupted_create(cpi.store, with_dir=True)
    assert f"vm-{cid}" in gc(cpi.store)
    assert not (cpi.store / f"vm-{cid}").exists()
    assert cpi("has_vm", vm) is True and cpi.vmx(vm).exists()
    assert leaks(cpi.store, cpi.host) == []


@pytest.mark.real_process
@pytest.mark.parametrize("with_dir", [True, False], ids=["killed-mid-clone", "killed-after-taking-the-lock"])
def test_gc_leaves_no_lock_of_a_resource_that_is_gone(cpi: Cpi, with_dir: bool) -> None:
    cpi.create_vm(cpi.new_stemcell())
    cid = interrupted_create(cpi.store, with_dir=with_dir)
    gc(cpi.store)
    assert not (cpi.store / ".locks" / f"vm-{cid}.lock").exists()
    assert leaks(cpi.store, cpi.host) == []


def test_gc_does_not_touch_the_disk_lock_of_a_running_vm(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 64, {}, vm)
    cpi("attach_disk", vm, disk)
    assert (cpi.store / "disks" / f"disk-{disk}.vmdk.lck").exists()  # the simulator holds it, as VMware does
    assert orphans(cpi.store) == []


@pytest.mark.real_process
def test_gc_sweeps_a_temporary_left_in_a_live_vm_by_a_killed_write(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    temp = cpi.vm_dir(vm) / "env.json.tmp-0badc0de"
    temp.write_bytes(b'{"agent_id": "a", "mbus"')
    assert str(temp) in gc(cpi.store)
    assert not temp.exists() and (cpi.vm_dir(vm) / "env.json").exists()


UNKNOWN = "0b1c2d3e-aaaa-4bbb-8ccc-00000000dead"
ON_UNKNOWN: dict[str, tuple[Any, ...]] = {
    "delete_vm": (UNKNOWN,),
    "reboot_vm": (UNKNOWN,),
    "set_vm_metadata": (UNKNOWN, {}),
    "attach_disk": (UNKNOWN, UNKNOWN),
    "detach_disk": (UNKNOWN, UNKNOWN),
    "delete_disk": (UNKNOWN,),
    "set_disk_metadata": (UNKNOWN, {}),
    "resize_disk": (UNKNOWN, 128),
    "update_disk": (UNKNOWN, 128, {}),
    "snapshot_disk": (UNKNOWN, {}),
    "delete_stemcell": (UNKNOWN,),
    "create_vm": ("a", UNKNOWN, {}, {}, [], {}),
    "get_disks": (UNKNOWN,),
    "has_vm": (UNKNOWN,),
    "has_disk": (UNKNOWN,),
}


@pytest.mark.parametrize("method", sorted(ON_UNKNOWN))
def test_calls_on_cids_that_do_not_exist_leave_nothing(cpi: Cpi, method: str) -> None:
    cpi.create_vm(cpi.new_stemcell())
    response = cpi.raw(method, *ON_UNKNOWN[method])
    assert response["error"] is None or response["error"]["type"] != "Bosh::Clouds::CpiError"
    assert leaks(cpi.store, cpi.host) == []


def gc_over_ssh(server: Sshd, store: Path, key: Path, *, delete: bool = True) -> str:
    """``vmtk --ssh ... store gc``, as run on the director (where the CPI's locks are)."""
    key.write_text(server.private_key)
    key.chmod(0o600)
    argv = [
        str(BIN / "vmtk"),
        "--ssh",
        f"{server.username}@{server.host}:{server.port}",
        "--ssh-key",
        str(key),
        "--ssh-host-key",
        server.host_public_key,
        "store",
        "gc",
        str(store),
        *(["--delete"] if delete else []),
    ]
    return subprocess.run(argv, capture_output=True, timeout=120, check=True).stdout.decode()


@pytest.mark.slow
@pytest.mark.real_process
def test_gc_over_ssh_keeps_the_image_cache_in_use_and_an_import_under_way(sshd: Sshd, tmp_path: Path) -> None:
    cpi = ssh_mode_cpi(sshd, tmp_path)
    image = make_image(tmp_path / "image")
    stemcell = cpi("create_stemcell", str(image), STEMCELL_PROPS)
    unused = make_image(tmp_path / "unused", stamp=1)  # its stemcell's delete was cut off before the release
    shutil.rmtree(cpi.store / f"cs-{cpi('create_stemcell', str(unused), STEMCELL_PROPS)}")
    images = cpi.store / IMAGES
    (images / f"{'1' * 64}.tmp-0dead000").mkdir()  # an import cut off by a dropped connection
    (images / f"{'2' * 64}.tmp-0beef000").mkdir()  # an import under way: it holds the image's lock
    with ssh_store(cpi) as importer, importer.lock(lock_name("2" * 64)):
        dry = gc_over_ssh(sshd, cpi.store, tmp_path / "key", delete=False)
        assert f"{images} " not in dry and "0beef000" not in dry and digest_of(image) not in dry
        done = gc_over_ssh(sshd, cpi.store, tmp_path / "key")
    assert f"removed {images / digest_of(unused)}  (no stemcell uses this image)" in done
    assert f"removed {images / ('1' * 64)}.tmp-0dead000  (left by an interrupted image import)" in done
    assert sorted(p.name for p in images.iterdir()) == sorted([digest_of(image), f"{'2' * 64}.tmp-0beef000"])
    vm, _ = cpi.create_vm(stemcell)
    assert cpi.is_running(vm)
