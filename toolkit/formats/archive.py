"""Safe reading of (compressed) tar archives: stemcells, their ``image``, OVAs.

Every member is checked before a byte of it is used: no absolute paths, no
``..``, no links of any kind, no devices or fifos, no member or total larger
than the ``Limits``, not too many members, and no decompression bomb (the
decompressed stream is counted as it is read, so even tar's own headers are
bounded). ``iter_members`` hands out members as streams, in archive order, so a
disk can be converted straight from the tarball; ``extract`` writes them into a
fresh local directory and removes it again on any failure.

This module reads and writes only local files on the machine running the
toolkit (archives are inputs, the extraction directory is scratch space); it
must never touch the VMware host (callers copy results through a ``Runner``)
and never interprets what the members contain.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import lzma
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from toolkit.errors import StemcellError, UnsafeArchiveError

__all__ = [
    "DEFAULT_LIMITS",
    "GIB",
    "Limits",
    "Member",
    "Readable",
    "extract",
    "iter_members",
    "read_member",
    "safe_name",
]

log = logging.getLogger(__name__)

GIB = 1 << 30
_COPY_CHUNK = 1 << 20
_GZIP, _BZIP2, _XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"
# What a truncated or corrupted archive raises from the standard library.
_CORRUPT = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


@dataclass(frozen=True, slots=True)
class Limits:
    """What an archive may hold; ``ratio`` applies once ``ratio_floor`` bytes came out."""

    max_members: int = 256
    max_member_bytes: int = 64 * 1024 * GIB
    max_total_bytes: int = 64 * 1024 * GIB
    max_ratio: float = 200.0
    ratio_floor: int = 64 << 20


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Member:
    """A regular file or directory of an archive; ``name`` is normalised (no ``./``)."""

    name: str
    size: int
    is_dir: bool


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Counted:
    """Counts bytes read from the raw (compressed) source."""

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data


class _Bounded:
    """The decompressed stream, refusing to yield more than the limits allow."""

    def __init__(self, inner: Readable, raw: _Counted, limits: Limits, source: str) -> None:
        self._inner = inner
        self._raw = raw
        self._limits = limits
        self._source = source
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.count += len(data)
        self._check()
        return data

    def _check(self) -> None:
        # A tar stream is its members plus 512-byte headers and padding.
        if self.count > self._limits.max_total_bytes + (self._limits.max_members + 20) * 1024:
            raise UnsafeArchiveError(f"{self._source}: decompresses to more than {self._limits.max_total_bytes} bytes")
        allowed = max(self._limits.ratio_floor, self._limits.max_ratio * max(self._raw.count, 1))
        if self.count > allowed:
            raise UnsafeArchiveError(
                f"{self._source}: decompression bomb ({self.count} bytes out of {self._raw.count} compressed)"
            )


def _decompressed(raw: Readable, head: bytes) -> Readable:
    source = cast(BinaryIO, raw)
    if head.startswith(_GZIP):
        return gzip.GzipFile(fileobj=source, mode="rb")
    if head.startswith(_BZIP2):
        return bz2.BZ2File(source, "rb")
    if head.startswith(_XZ):
        return lzma.LZMAFile(source, "rb")
    return raw


class _Peeked:
    """A stream with its first bytes already read (to sniff the compression)."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data if len(data) == size else data + self._rest.read(size - len(data))


def safe_name(name: str) -> str:
    """``name`` normalised to a relative path, or ``UnsafeArchiveError``.

    Backslashes count as separators too: a member named ``..\\x`` is harmless
    on Linux but escapes on a Windows CPI machine.
    """
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r}: absolute or escaping path")
    return "/".join(parts)


def _check(info: tarfile.TarInfo, limits: Limits, seen: int, total: int) -> Member:
    name = safe_name(info.name)
    if seen > limits.max_members:
        raise UnsafeArchiveError(f"archive member {info.name!r}: more than {limits.max_members} members")
    if info.issym() or info.islnk():
        raise UnsafeArchiveError(f"archive member {info.name!r}: links are not allowed (-> {info.linkname!r})")
    if not (info.isreg() or info.isdir()):
        raise UnsafeArchiveError(f"archive member {info.name!r}: device, fifo or other special file")
    if info.size > limits.max_member_bytes:
        raise UnsafeArchiveError(f"archive member {info.name!r}: {info.size} bytes is over the member limit")
    if total + info.size > limits.max_total_bytes:
        raise UnsafeArchiveError(f"archive member {info.name!r}: total size over {limits.max_total_bytes} bytes")
    return Member(name, info.size if info.isreg() else 0, info.isdir())


def iter_members(
    source: str | BinaryIO, *, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[Member, BinaryIO | None]]:
    """Yield each checked member with a stream of its bytes (``None`` for directories).

    A stream is valid only until the next member is requested (the archive is
    read strictly sequentially, so ``source`` may be a pipe or another member).
    """
    with contextlib.ExitStack() as stack:
        raw_file = stack.enter_context(_open_local(source)) if isinstance(source, str) else source
        label = source if isinstance(source, str) else "archive"
        counted = _Counted(raw_file)
        head = counted.read(6)
        stream = _Bounded(_decompressed(_Peeked(head, counted), head), counted, limits, label)
        yield from _walk(stack.enter_context(_tar(stream, label)), limits)


@contextlib.contextmanager
def _open_local(path: str) -> Iterator[BinaryIO]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - only the open itself is guarded
    except OSError as exc:
        raise StemcellError(f"{path}: cannot open archive: {exc.strerror or exc}") from exc
    with handle:
        yield handle


@contextlib.contextmanager
def _tar(stream: _Bounded, label: str) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(fileobj=cast(BinaryIO, stream), mode="r|") as tar:
            yield tar
    except _CORRUPT as exc:
        raise StemcellError(f"{label}: not a readable tar archive: {exc}") from exc


def _walk(tar: tarfile.TarFile, limits: Limits) -> Iterator[tuple[Member, BinaryIO | None]]:
    total = 0
    for seen, info in enumerate(tar, start=1):
        member = _check(info, limits, seen, total)
        total += member.size
        stream = None if member.is_dir else tar.extractfile(info)
        yield member, None if stream is None else cast(BinaryIO, _Checked(stream, member.name))


class _Checked:
    """A member's stream whose read errors name the member (a corrupt archive shows up mid-read)."""

    def __init__(self, inner: Readable, name: str) -> None:
        self._inner = inner
        self._name = name

    def read(self, size: int = -1) -> bytes:
        try:
            return self._inner.read(size)
        except _CORRUPT as exc:
            raise StemcellError(f"archive member {self._name!r} is unreadable: {exc}") from exc


def read_member(source: str | BinaryIO, wanted: str, *, limits: Limits = DEFAULT_LIMITS, max_bytes: int) -> bytes:
    """The bytes of member ``wanted`` (``./`` prefixes ignored); ``UnsafeArchiveError`` if absent or too big."""
    for member, stream in iter_members(source, limits=limits):
        if member.name == safe_name(wanted) and stream is not None:
            if member.size > max_bytes:
                raise UnsafeArchiveError(
                    f"archive member {wanted!r}: {member.size} bytes, expected at most {max_bytes}"
                )
            return stream.read()
    raise UnsafeArchiveError(f"archive has no member {wanted!r}")


def extract(archive: str, dest_dir: str | None = None, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """Extract ``archive`` into a new local directory and return it.

    ``dest_dir`` must not exist yet (it is created, 0700); by default a fresh
    temporary directory is used. On any failure the directory is removed, so a
    hostile archive leaves nothing behind.
    """
    if dest_dir is None:
        dest_dir = tempfile.mkdtemp(prefix="vmtk-extract-")
    else:
        os.mkdir(dest_dir, 0o700)
    try:
        for member, stream in iter_members(archive, limits=limits):
            _write(dest_dir, member, stream)
    except BaseException:
        shutil.rmtree(dest_dir, ignore_errors=True)
        raise
    log.debug("extracted %s into %s", archive, dest_dir)
    return dest_dir


def _write(dest_dir: str, member: Member, stream: BinaryIO | None) -> None:
    target = os.path.join(dest_dir, *member.name.split("/"))
    if member.is_dir or stream is None:
        os.makedirs(target, 0o755, exist_ok=True)
        return
    os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
    # O_EXCL|O_NOFOLLOW: a repeated name, or anything already there, is refused
    # rather than written through.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError as exc:
        raise UnsafeArchiveError(f"archive member {member.name!r}: repeated or clashing name") from exc
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(stream, out, _COPY_CHUNK)
