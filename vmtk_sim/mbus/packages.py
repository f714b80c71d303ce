"""Packages and jobs on the simulated agent's guest: compile, install, apply.

Follows the bosh-agent's layout: a package version lives in
``/var/vcap/data/packages/<name>/<version>`` with ``/var/vcap/packages/<name>``
linked to it; a rendered job in ``/var/vcap/data/jobs/<name>/<version>`` with
``/var/vcap/jobs/<name>``. ``compile_package`` unpacks the source blob into
``/var/vcap/data/compile/<name>``, installs the compiled dependencies it was
given, runs ``bash -x packaging`` there as root with the BOSH_* variables (its
output in ``/var/vcap/sys/log/compilation``), and stores the tarred install
target as a new blob. Archives come from the caller
(the bosh CLI), so they are extracted with tarfile's ``data`` filter into
directories this module resolved inside the guest root.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmtk_sim.mbus.blobs import BlobStore
from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import LOGS, GuestFs

DATA = "/var/vcap/data"
COMPILE_TIMEOUT_SECONDS = 3600.0
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A named, versioned archive in the agent's blobstore (package source or compiled package)."""

    name: str
    version: str
    sha1: str
    blobstore_id: str

    @classmethod
    def from_json(cls, value: Any, what: str) -> BlobRef:
        if not isinstance(value, Mapping):
            raise AgentActionError(f"{what}: expected a map with name, version, sha1, blobstore_id")
        fields = [value.get(key) for key in ("name", "version", "sha1", "blobstore_id")]
        strings = [item for item in fields if isinstance(item, str) and item]
        if len(strings) != len(fields):
            raise AgentActionError(f"{what}: name, version, sha1 and blobstore_id must be non-empty strings")
        name, version, sha1, blobstore_id = strings
        return cls(component(name, what), component(version, what), sha1, blobstore_id)


def component(value: str, what: str) -> str:
    """``value`` if it is usable as one path component (a name or version), else an error."""
    if not _COMPONENT.match(value) or value in (".", ".."):
        raise AgentActionError(f"{what}: {value!r} is not a valid name or version")
    return value


def compile_package(guest: GuestFs, blobs: BlobStore, source: BlobRef, deps: Mapping[str, BlobRef]) -> dict[str, Any]:
    """The agent's compile_package: ``{"result": {"blobstore_id", "sha1"}}`` of the compiled archive.

    As the agent does, it starts and ends with no package installed, and removes
    the unpacked sources whatever happens.
    """
    remove_packages(guest)
    for dep in deps.values():
        install_package(guest, blobs, dep)
    compile_dir = f"{DATA}/compile/{source.name}"
    unpack(blobs.fetch(source.blobstore_id, source.sha1), guest.fresh_dir(compile_dir))
    try:
        target = _package_dir(source)
        guest.fresh_dir(target)
        guest.link(f"/var/vcap/packages/{source.name}", target)
        _run_packaging(guest, source, compile_dir)
        blob_id, sha1 = _store_tree(guest, blobs, guest.host(target))
    finally:
        shutil.rmtree(guest.host(compile_dir), ignore_errors=True)
    remove_packages(guest)
    return {"result": {"blobstore_id": blob_id, "sha1": sha1}}


def _run_packaging(guest: GuestFs, source: BlobRef, compile_dir: str) -> None:
    env = {
        "BOSH_COMPILE_TARGET": compile_dir,
        "BOSH_INSTALL_TARGET": f"/var/vcap/packages/{source.name}",
        "BOSH_PACKAGE_NAME": source.name,
        "BOSH_PACKAGE_VERSION": source.version,
        "BOSH_PACKAGES_DIR": "/var/vcap/packages",
    }
    logs = f"{LOGS}/compilation"
    guest.fresh_dir(logs)  # the agent clears the previous compilation's logs
    outcome = guest.run(
        ["bash", "-x", "packaging"], env, timeout=COMPILE_TIMEOUT_SECONDS, cwd=compile_dir, logs=logs, name="packaging"
    )
    if outcome.code:
        raise AgentActionError(f"Compiling package {source.name}: Running packaging script: {outcome.failure()}")


def remove_packages(guest: GuestFs) -> None:
    """Uninstall every package (the agent's ``KeepOnly`` of none)."""
    for directory in (f"{DATA}/packages", "/var/vcap/packages"):
        shutil.rmtree(guest.host(directory, follow_last=False), ignore_errors=True)


def install_package(guest: GuestFs, blobs: BlobStore, ref: BlobRef) -> None:
    """A compiled package unpacked into its version directory and linked as current."""
    target = _package_dir(ref)
    unpack(blobs.fetch(ref.blobstore_id, ref.sha1), guest.fresh_dir(target))
    guest.link(f"/var/vcap/packages/{ref.name}", target)


def install_jobs(guest: GuestFs, blobs: BlobStore, archive: Mapping[str, Any], jobs: list[tuple[str, str]]) -> None:
    """Each ``(name, version)`` job from the rendered-templates archive, with ``bin/*`` executable."""
    blob_id, sha1 = archive.get("blobstore_id"), archive.get("sha1")
    if not (isinstance(blob_id, str) and isinstance(sha1, str)):
        raise AgentActionError("Applying: rendered_templates_archive needs blobstore_id and sha1")
    scratch = guest.fresh_dir(f"{DATA}/tmp/rendered-{uuid.uuid4().hex}")
    try:
        unpack(blobs.fetch(blob_id, sha1), scratch)
        for name, version in jobs:
            _install_job(guest, scratch, name, version)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _install_job(guest: GuestFs, scratch: Path, name: str, version: str) -> None:
    rendered = scratch / name
    if not rendered.is_dir():
        raise AgentActionError(f"Applying: job {name!r} is not in the rendered templates archive")
    target = f"{DATA}/jobs/{name}/{version}"
    host_target = guest.fresh_dir(target)
    host_target.rmdir()
    shutil.move(str(rendered), str(host_target))
    for script in (host_target / "bin").glob("*") if (host_target / "bin").is_dir() else ():
        script.chmod(0o755)  # the agent makes a job's bin/ executable, whatever the archive says
    guest.link(f"/var/vcap/jobs/{name}", target)


def unpack(archive: Path, dest: Path) -> None:
    """Extract a (gzipped) tarball from a caller into ``dest``, refusing what would escape it."""
    if not hasattr(tarfile, "data_filter"):
        raise AgentActionError("this Python has no tarfile extraction filters (needs 3.10.12+ or 3.11.4+)")
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AgentActionError(f"Decompressing {archive.name}: {exc}") from exc


def _store_tree(guest: GuestFs, blobs: BlobStore, tree: Path) -> tuple[str, str]:
    archive = guest.host(f"{DATA}/tmp/compiled-{uuid.uuid4().hex}.tgz")
    archive.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(tree, arcname=".")
        return blobs.add(archive)
    finally:
        archive.unlink(missing_ok=True)


def _package_dir(ref: BlobRef) -> str:
    return f"{DATA}/packages/{ref.name}/{ref.version}"
