"""Deterministic ``.tgz`` archives and fingerprints for the release builder.

Responsible for turning a set of files, given as bytes with a mode, into a
gzip'd tarball that is byte-identical on every build (members sorted, mtime 0,
uid/gid 0, no owner names, gzip header mtime 0), and for the fingerprint of such
a set. Must NOT read the repository or run programs: callers hand in the bytes.

Fingerprint: sha256 (hex) over one line per file, sorted by path,
``<path>\\0<sha256 of content>\\0<mode in octal>\\n``, followed by one line
``dependency\\0<name>\\n`` per dependency, sorted. Like BOSH's own fingerprints it
changes exactly when a file's name, content or mode, or the dependency list,
changes; the bosh CLI only uses it as an opaque cache key.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of an archive: a relative '/'-separated path, its bytes, its mode."""

    path: str
    data: bytes = field(repr=False)
    mode: int = 0o644


def tgz(entries: Iterable[Entry]) -> bytes:
    """The entries as a reproducible gzip'd tar, members named ``./<path>``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in sorted(entries, key=lambda e: e.path):
            tar.addfile(_member(entry), io.BytesIO(entry.data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def _member(entry: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo("./" + entry.path)
    info.size = len(entry.data)
    info.mode = entry.mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def fingerprint(entries: Iterable[Entry], dependencies: Iterable[str] = ()) -> str:
    lines = [
        f"{e.path}\0{hashlib.sha256(e.data).hexdigest()}\0{e.mode:o}\n" for e in sorted(entries, key=lambda e: e.path)
    ]
    lines += [f"dependency\0{name}\n" for name in sorted(dependencies)]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def sha256_digest(data: bytes) -> str:
    """The ``sha256:<hex>`` form release.MF and bosh manifests accept in ``sha1`` fields."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
