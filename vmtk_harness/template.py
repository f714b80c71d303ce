"""The template that test VMs are cloned from, made ready once for every test process.

A template is a powered-off ``.vmx`` given by the user, or a stemcell/image
imported into ``<workdir>/templates/<digest>/`` (the digest of the image, so
pytest-xdist workers and later sessions reuse one import). Linked clones need a
snapshot of the template taken while it is off; ``BASE_SNAPSHOT`` is taken once.
Everything happens under one host lock so concurrent workers never race. It
must not create or destroy clones (``harness_clones``) and reaches the host
only through the ``Runner`` and ``Vmrun``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from toolkit.errors import ConfigError
from toolkit.host.digest import sha256_of
from toolkit.host.runner import LocalRunner, Runner
from toolkit.vmware.vmrun import HostType, Vmrun

log = logging.getLogger(__name__)
BASE_SNAPSHOT = "vmtk-test-base"
TEMPLATE_LOCK = "template.lock"
LOCK_TIMEOUT = 1800.0  # an import of a real stemcell takes minutes
TEMPLATE_NAME = "vmtk-template"
IMPORTED = "imported"  # written last: the import is complete


@dataclass(frozen=True, slots=True)
class Template:
    """A template ready to clone: ``snapshot`` is ``None`` where clones are full copies."""

    vmx: str
    snapshot: str | None


def prepare(runner: Runner, vmrun: Vmrun, workdir: str, source: str) -> Template:
    """The template for ``source`` (a .vmx or a stemcell/image), imported and snapshotted once."""
    runner.mkdir(workdir)
    with runner.lock(runner.path.join(workdir, TEMPLATE_LOCK), timeout=LOCK_TIMEOUT):
        vmx = source if source.lower().endswith(".vmx") else _imported(runner, workdir, source)
        if not runner.exists(vmx):
            raise ConfigError([f"template {vmx!r} does not exist"], subject="vmtk template")
        if vmrun.host_type is HostType.PLAYER:
            return Template(vmx, None)  # Player has neither snapshots nor clones
        _ensure_base_snapshot(vmrun, vmx)
        return Template(vmx, BASE_SNAPSHOT)


def _ensure_base_snapshot(vmrun: Vmrun, vmx: str) -> None:
    if any(snap.name == BASE_SNAPSHOT for snap in vmrun.list_snapshots(vmx)):
        return
    if vmrun.is_running(vmx):
        # A snapshot of a running VM cannot be cloned ("vmware cannot clone it").
        raise ConfigError([f"template {vmx!r} is running; power it off first"], subject="vmtk template")
    log.info("taking snapshot %s of template %s for linked clones", BASE_SNAPSHOT, vmx)
    vmrun.snapshot(vmx, BASE_SNAPSHOT)


def _imported(runner: Runner, workdir: str, image: str) -> str:
    """The .vmx imported from ``image``: reused when an earlier process imported it already."""
    target = runner.path.join(workdir, "templates", digest(image)[:16])
    done = runner.path.join(target, IMPORTED)
    if runner.exists(done):
        return runner.read_bytes(done).decode()
    log.info("importing %s into %s", image, target)
    runner.remove_tree(target)  # what a process killed mid-import left
    vmx = _import(runner, image, runner.path.join(target, f"{TEMPLATE_NAME}.vmx"))
    runner.write_bytes(done, vmx.encode())
    return vmx


def _import(runner: Runner, image: str, vmx: str) -> str:
    """Import a bare image (or OVF package), or the ``image`` inside a full stemcell tarball."""
    from toolkit.formats import archive, stemcell  # heavy (OVF, VMDK conversion): only when needed

    if stemcell.tarball_manifest(image) is None:
        return stemcell.import_image(runner, image, vmx, name=TEMPLATE_NAME)
    unpacked = archive.extract(image)  # a local directory, like the tarball itself
    try:
        return stemcell.import_image(runner, os.path.join(unpacked, stemcell.IMAGE_NAME), vmx, name=TEMPLATE_NAME)
    finally:
        LocalRunner().remove_tree(unpacked)


def digest(path: str) -> str:
    """SHA-256 of a local file (stemcells are read on this machine, like ``toolkit.formats.stemcell`` does)."""
    return sha256_of(LocalRunner(), path)
