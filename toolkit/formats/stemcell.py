"""Stemcell import: a BOSH ``image`` (or any OVF package) becomes a template .vmx on the host.

``import_image`` reads the package locally (``toolkit.formats.ovfpackage``, which checks
the manifest digests), then either hands it to ovftool (the package is staged in
a host temp dir first, so this works over SSH too) or does ovftool's job itself:
render the .vmx (``toolkit.formats.ovfvmx``) and convert each streamOptimized disk to a
monolithicSparse ``<name>-disk<N>.vmdk`` straight from the tarball, each file
written atomically through the ``Runner``. A failed import removes what it
wrote: there is never a half-imported template. ``read_stemcell_manifest`` and
``inspect`` read a full stemcell tarball (``stemcell.MF`` + ``image``);
``tarball_manifest`` tells such a tarball from a bare image cheaply.

This module never runs VMware programs except through ``Ovftool`` and never
touches host files except through the ``Runner``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from toolkit.errors import StemcellError, ToolkitError
from toolkit.formats import archive, vmdk
from toolkit.formats.archive import DEFAULT_LIMITS, Limits
from toolkit.formats.ovf import OvfDisk, OvfSpec, parse_ovf
from toolkit.formats.ovfpackage import Package, open_package
from toolkit.formats.ovfvmx import disk_file_name, render_vmx
from toolkit.formats.streamvmdk import convert_stream_optimized
from toolkit.host.runner import Runner
from toolkit.vmware.ovftool import Ovftool
from toolkit.vmware.vmx import write_vmx

__all__ = [
    "IMAGE_NAME",
    "MANIFEST_NAME",
    "MAX_MANIFEST_BYTES",
    "StemcellManifest",
    "StemcellSummary",
    "TARBALL_SUFFIXES",
    "import_image",
    "inspect",
    "parse_stemcell_manifest",
    "read_stemcell_manifest",
    "tarball_manifest",
]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
MANIFEST_NAME = "stemcell.MF"
IMAGE_NAME = "image"
TARBALL_SUFFIXES = (".tgz", ".tar.gz", ".tar")  # a full stemcell; a bare ``image`` has none of these
MAX_MANIFEST_BYTES = 1 << 20
_STAGE_CHUNK = 1 << 20


def import_image(
    runner: Runner,
    image_path: str,
    dest_vmx: str,
    *,
    name: str,
    ovftool: Ovftool | None = None,
    progress: Progress | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> str:
    """Import the local package ``image_path`` as VM ``name`` at host path ``dest_vmx``; returns ``dest_vmx``."""
    package = open_package(image_path, limits=limits)
    spec = parse_ovf(package.descriptor)
    dest_dir = runner.path.dirname(dest_vmx)
    created = not runner.exists(dest_dir)
    written: list[str] = []
    try:
        runner.mkdir(dest_dir)
        if ovftool is not None:
            written.extend([dest_vmx, *_disk_paths(runner, spec, dest_vmx)])  # what ovftool may leave
            _with_ovftool(runner, package, dest_vmx, name, ovftool, progress)
        else:
            _without_ovftool(runner, package, spec, dest_vmx, name, progress, written)
    except BaseException:
        _undo(runner, dest_dir if created else None, written)
        raise
    log.info("imported %s as %s", image_path, dest_vmx)
    return dest_vmx


def _undo(runner: Runner, created_dir: str | None, written: list[str]) -> None:
    try:
        if created_dir is not None:
            runner.remove_tree(created_dir)
        for path in written:
            runner.remove(path)
    except ToolkitError:  # the import's own error matters more
        log.warning("could not clean up after a failed import", exc_info=True)


def _without_ovftool(
    runner: Runner,
    package: Package,
    spec: OvfSpec,
    dest_vmx: str,
    name: str,
    progress: Progress | None,
    written: list[str],
) -> None:
    if spec.hardware_versions == () and spec.system_types:
        log.warning("%s: hardware family %s is not VMware's; importing anyway", package.ovf_name, spec.system_types)
    targets = _disk_paths(runner, spec, dest_vmx)
    for disk, target in zip(spec.disks, targets, strict=True):
        written.append(target)
        _write_disk(runner, package, disk, target, progress)
    written.append(dest_vmx)
    prefix = runner.path.basename(dest_vmx).rsplit(".", 1)[0]
    write_vmx(runner, dest_vmx, render_vmx(spec, name=name, file_prefix=prefix))


def _disk_paths(runner: Runner, spec: OvfSpec, dest_vmx: str) -> list[str]:
    """Where the disks go: named after the .vmx, as ovftool names them."""
    prefix = runner.path.basename(dest_vmx).rsplit(".", 1)[0]
    directory = runner.path.dirname(dest_vmx)
    return [runner.path.join(directory, disk_file_name(prefix, i)) for i in range(1, len(spec.disks) + 1)]


def _write_disk(runner: Runner, package: Package, disk: OvfDisk, target: str, progress: Progress | None) -> None:
    file_name = runner.path.basename(target)
    with runner.open_write(target) as dst:
        if disk.file is None:  # a disk declared by capacity only (no file): create it empty
            vmdk.create_sparse(dst, disk.capacity_bytes, name=file_name)
            return
        if disk.format not in ("streamOptimized", ""):
            raise StemcellError(
                f"{disk.file.href}: disk format {disk.format!r} needs ovftool (only streamOptimized is converted)"
            )
        with package.open(disk.file.href) as src:
            convert_stream_optimized(src, dst, progress=progress, name=file_name)


def _with_ovftool(
    runner: Runner, package: Package, dest_vmx: str, name: str, ovftool: Ovftool, progress: Progress | None
) -> None:
    staging = runner.make_temp_dir("vmtk-ovf-")
    try:
        for member in sorted(package.members):
            target = runner.path.join(staging, *member.split("/"))
            if "/" in member:
                runner.mkdir(runner.path.dirname(target))
            with package.open(member) as src, runner.open_write(target) as dst:
                shutil.copyfileobj(src, dst, _STAGE_CHUNK)
        ovftool.import_ovf(runner.path.join(staging, package.ovf_name), dest_vmx, name=name, on_progress=progress)
    finally:
        runner.remove_tree(staging)


@dataclass(frozen=True, slots=True)
class StemcellManifest:
    """``stemcell.MF`` of a full stemcell tarball."""

    name: str
    version: str
    api_version: int
    operating_system: str
    sha1: str | None
    cloud_properties: Mapping[str, Any] = field(default_factory=dict)


def parse_stemcell_manifest(data: bytes) -> StemcellManifest:
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise StemcellError(f"{MANIFEST_NAME} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not doc.get("name") or doc.get("version") is None:
        raise StemcellError(f"{MANIFEST_NAME} lacks a name or a version")
    api = doc.get("api_version", 1)
    if not isinstance(api, int) or isinstance(api, bool) or api < 1:
        raise StemcellError(f"{MANIFEST_NAME}: api_version {api!r} is not a positive integer")
    props = doc.get("cloud_properties") or {}
    if not isinstance(props, dict):
        raise StemcellError(f"{MANIFEST_NAME}: cloud_properties is not a mapping")
    sha1 = doc.get("sha1")
    return StemcellManifest(
        str(doc["name"]),
        str(doc["version"]),
        api,
        str(doc.get("operating_system", "")),
        None if sha1 is None else str(sha1),
        props,
    )


def read_stemcell_manifest(tgz: str, *, limits: Limits = DEFAULT_LIMITS) -> StemcellManifest:
    """The ``stemcell.MF`` of the stemcell tarball at local path ``tgz``."""
    return parse_stemcell_manifest(archive.read_member(tgz, MANIFEST_NAME, limits=limits, max_bytes=MAX_MANIFEST_BYTES))


@dataclass(frozen=True, slots=True)
class StemcellSummary:
    name: str
    version: str | None  # None: a bare image has no stemcell.MF
    api_version: int | None
    os: str | None
    disk_bytes: int
    cpus: int
    memory_mb: int


def tarball_manifest(path: str, *, limits: Limits = DEFAULT_LIMITS) -> StemcellManifest | None:
    """The ``stemcell.MF`` of a full stemcell tarball; ``None`` for a bare image, OVA or OVF.

    The suffix decides first, so a bare ``image`` (itself a big compressed
    tarball) is never scanned just to learn it holds no ``stemcell.MF``;
    ``import_image`` reports what is wrong with a package that is neither.
    """
    if not path.lower().endswith(TARBALL_SUFFIXES):
        return None
    try:
        return read_stemcell_manifest(path, limits=limits)
    except StemcellError:
        return None


def inspect(path: str, *, limits: Limits = DEFAULT_LIMITS) -> StemcellSummary:
    """What a stemcell tarball (or a bare image / OVF package) holds, without importing it."""
    parts = _stemcell_parts(path, limits) if path.lower().endswith(TARBALL_SUFFIXES) else None
    if parts is None:
        spec = parse_ovf(open_package(path, limits=limits).descriptor)
        return _summary(spec, None)
    manifest, descriptor = parts
    return _summary(parse_ovf(descriptor), manifest)


def _stemcell_parts(path: str, limits: Limits) -> tuple[StemcellManifest, bytes] | None:
    """``stemcell.MF`` and the image's OVF descriptor in one pass; ``None`` when there is no ``stemcell.MF``."""
    manifest: StemcellManifest | None = None
    descriptor: bytes | StemcellError | None = None
    for member, stream in archive.iter_members(path, limits=limits):
        if member.name == MANIFEST_NAME and stream is not None:
            manifest = parse_stemcell_manifest(stream.read(MAX_MANIFEST_BYTES))
        elif member.name == IMAGE_NAME and stream is not None:
            # The image often precedes stemcell.MF: its error counts only if this turns out to be a stemcell.
            descriptor = _descriptor_or_error(stream, limits)
    if manifest is None:
        return None
    if isinstance(descriptor, StemcellError):
        raise descriptor
    if descriptor is None:
        raise StemcellError(f"{path}: a stemcell tarball needs both {MANIFEST_NAME} and {IMAGE_NAME}")
    return manifest, descriptor


def _descriptor_or_error(image: Any, limits: Limits) -> bytes | StemcellError:
    try:
        return _descriptor_in(image, limits)
    except StemcellError as exc:
        return exc


def _descriptor_in(image: Any, limits: Limits) -> bytes:
    for member, stream in archive.iter_members(image, limits=limits):
        if member.name.lower().endswith(".ovf") and stream is not None:
            return stream.read(16 << 20)
    raise StemcellError(f"the stemcell {IMAGE_NAME} holds no .ovf")


def _summary(spec: OvfSpec, manifest: StemcellManifest | None) -> StemcellSummary:
    return StemcellSummary(
        name=manifest.name if manifest else spec.name,
        version=manifest.version if manifest else None,
        api_version=manifest.api_version if manifest else None,
        os=manifest.operating_system if manifest else spec.guest_os,
        disk_bytes=sum(d.capacity_bytes for d in spec.disks),
        cpus=spec.cpus,
        memory_mb=spec.memory_mb,
    )
