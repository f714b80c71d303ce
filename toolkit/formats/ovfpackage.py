"""An OVF package as the importer reads it: descriptor, manifest, verified file streams.

A package is a directory holding one ``*.ovf``, a bare ``.ovf`` (its files sit
next to it), or a tar archive of them, plain (an OVA) or gzipped (the ``image``
inside a BOSH stemcell). ``open_package`` reads the descriptor and manifest
(``SHA1(x)= hex`` / ``SHA256(x)= hex`` lines) and checks the descriptor's
digest; ``Package.open(href)`` streams a referenced file and checks its digest
when the stream is closed, so a tampered disk fails the import that used it.

Packages are local files on the machine running the toolkit (read with the
safety checks of ``toolkit.formats.archive``); this module never touches the VMware
host and never parses the OVF itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from toolkit.errors import StemcellError
from toolkit.formats import archive
from toolkit.formats.archive import DEFAULT_LIMITS, Limits

__all__ = ["Digest", "MAX_DESCRIPTOR_BYTES", "Package", "open_package", "parse_manifest", "render_manifest"]

log = logging.getLogger(__name__)

MAX_DESCRIPTOR_BYTES = 16 << 20
_MANIFEST_LINE = re.compile(r"^(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$")
_DRAIN_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str  # hashlib name: "sha1", "sha256", "sha512"
    hexdigest: str


def parse_manifest(data: bytes) -> dict[str, Digest]:
    """File name -> digest from an ``.mf``; ``StemcellError`` names a malformed line."""
    digests = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line.strip())
        if match is None:
            raise StemcellError(f"manifest line {number} is not 'SHA256(file)= digest': {line[:80]!r}")
        digests[match.group(2)] = Digest(match.group(1).lower(), match.group(3).lower())
    return digests


def render_manifest(files: dict[str, bytes], algorithm: str = "sha256") -> bytes:
    """An ``.mf`` for ``files`` (name -> content), as ovftool writes it."""
    return b"".join(
        f"{algorithm.upper()}({name})= {hashlib.new(algorithm, data).hexdigest()}\n".encode()
        for name, data in files.items()
    )


class _Verified:
    """A file stream that hashes what is read; ``finish`` drains the rest and compares."""

    def __init__(self, inner: BinaryIO, name: str, digest: Digest | None) -> None:
        self._inner = inner
        self._name = name
        self._digest = digest
        self._hash = hashlib.new(digest.algorithm) if digest else None

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        if self._hash is not None:
            self._hash.update(data)
        return data

    def finish(self) -> None:
        if self._hash is None or self._digest is None:
            return
        while self.read(_DRAIN_CHUNK):
            pass
        if self._hash.hexdigest() != self._digest.hexdigest:
            raise StemcellError(f"{self._name}: {self._digest.algorithm.upper()} digest does not match the manifest")


@dataclass(frozen=True, slots=True)
class Package:
    """An opened OVF package (see module docstring)."""

    source: str
    ovf_name: str
    descriptor: bytes
    manifest: dict[str, Digest] | None
    members: frozenset[str]  # every file the package holds, relative names
    is_archive: bool
    limits: Limits = field(default=DEFAULT_LIMITS, repr=False)

    def has(self, href: str) -> bool:
        return _relative(href) in self.members

    @contextlib.contextmanager
    def open(self, href: str) -> Iterator[BinaryIO]:
        """Stream file ``href``; its digest is checked when the block ends without error."""
        name = _relative(href)
        if name not in self.members:
            raise StemcellError(f"{self.source}: the OVF refers to {href!r}, which the package does not hold")
        if self.manifest is not None and name not in self.manifest:
            log.warning("%s: no manifest entry for %s", self.source, name)
        with self._raw(name) as raw:
            verified = _Verified(raw, name, None if self.manifest is None else self.manifest.get(name))
            yield verified  # type: ignore[misc]
            verified.finish()

    @contextlib.contextmanager
    def _raw(self, name: str) -> Iterator[BinaryIO]:
        if not self.is_archive:
            with open(os.path.join(self.source, *name.split("/")), "rb") as handle:
                yield handle
            return
        members = archive.iter_members(self.source, limits=self.limits)
        try:
            for member, stream in members:
                if member.name == name and stream is not None:
                    yield stream
                    return
        finally:
            members.close()  # type: ignore[attr-defined]
        raise StemcellError(f"{self.source}: {name!r} vanished from the archive")  # pragma: no cover


def _relative(href: str) -> str:
    if "://" in href:
        raise StemcellError(f"OVF file reference {href!r} is a URL; only files in the package are supported")
    return archive.safe_name(href)


def open_package(path: str, *, limits: Limits = DEFAULT_LIMITS) -> Package:
    """Read the package at local ``path`` (directory, ``.ovf`` or tar archive) and check its descriptor."""
    if os.path.isdir(path):
        return _from_directory(path, _single_ovf(path, os.listdir(path)), limits)
    if path.lower().endswith(".ovf"):
        return _from_directory(os.path.dirname(path) or ".", os.path.basename(path), limits)
    if not os.path.isfile(path):
        raise StemcellError(f"stemcell image {path!r} does not exist")
    return _from_archive(path, limits)


def _single_ovf(where: str, names: list[str] | frozenset[str]) -> str:
    found = sorted(n for n in names if n.lower().endswith(".ovf"))
    if len(found) != 1:
        raise StemcellError(f"{where}: expected exactly one .ovf, found {len(found)} ({', '.join(found) or 'none'})")
    return found[0]


def _from_directory(directory: str, ovf_name: str, limits: Limits) -> Package:
    members = frozenset(
        os.path.relpath(os.path.join(top, f), directory).replace(os.sep, "/")
        for top, _, files in os.walk(directory)
        for f in files
    )
    if ovf_name not in members:
        raise StemcellError(f"OVF descriptor {os.path.join(directory, ovf_name)!r} does not exist")
    with open(os.path.join(directory, ovf_name), "rb") as handle:
        descriptor = handle.read(MAX_DESCRIPTOR_BYTES + 1)
    mf_name = ovf_name[:-4] + ".mf"
    manifest = None
    if mf_name in members:
        with open(os.path.join(directory, mf_name), "rb") as handle:
            manifest = parse_manifest(handle.read(MAX_DESCRIPTOR_BYTES))
    return _checked(Package(directory, ovf_name, descriptor, manifest, members, False, limits))


def _from_archive(path: str, limits: Limits) -> Package:
    small: dict[str, bytes] = {}
    names = set()
    for member, stream in archive.iter_members(path, limits=limits):
        if stream is None:
            continue
        names.add(member.name)
        if member.name.lower().endswith((".ovf", ".mf")):
            if member.size > MAX_DESCRIPTOR_BYTES:
                raise StemcellError(f"{path}: {member.name} is {member.size} bytes, too big for a descriptor")
            small[member.name] = stream.read()
    ovf_name = _single_ovf(path, frozenset(names))
    mf = small.get(ovf_name[:-4] + ".mf")
    manifest = None if mf is None else parse_manifest(mf)
    return _checked(Package(path, ovf_name, small[ovf_name], manifest, frozenset(names), True, limits))


def _checked(package: Package) -> Package:
    if len(package.descriptor) > MAX_DESCRIPTOR_BYTES:
        raise StemcellError(f"{package.source}: {package.ovf_name} is too big for an OVF descriptor")
    if package.manifest is None:
        log.info("%s: no manifest; file digests are not verified", package.source)
        return package
    digest = package.manifest.get(package.ovf_name)
    if digest is not None and hashlib.new(digest.algorithm, package.descriptor).hexdigest() != digest.hexdigest:
        raise StemcellError(f"{package.ovf_name}: {digest.algorithm.upper()} digest does not match the manifest")
    for name in sorted(package.manifest.keys() - package.members):
        # ovftool only warns here (the reference's own fixture, image.mf, lists test.ovf/test.vmdk):
        # a file the OVF really refers to still fails in ``open`` when it is missing.
        log.warning("%s: the manifest lists %r, which the package does not hold", package.source, name)
    return package
