"""monolithicSparse VMDK files in pure Python: create, inspect, grow.

Knows the VMware "Virtual Disk Format 1.1" sparse layout (``KDMV`` header,
embedded descriptor, grain directory and grain tables, redundant directory) and
the text descriptor. The pure functions work on seekable binary file objects;
``create_disk``/``grow_disk`` reach host files only through a ``Runner``. This
module must not run programs (``vdiskmanager.py`` does) nor decompress stream
grains (``streamvmdk.py`` does).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from toolkit.errors import DiskError
from toolkit.formats.vmdkformat import (  # the format names are re-exported as part of this API
    _COPY_CHUNK,
    _ZERO_CHUNK,
    DESCRIPTOR_SECTORS,
    GD_AT_END,
    GRAIN_SECTORS,
    GT_SECTORS,
    GTES_PER_GT,
    MAGIC,
    NOT_A_DISK,
    SECTOR,
    Adapter,
    Descriptor,
    DiskInfo,
    SparseHeader,
    extend,
    gd_sectors,
    le_u32,
    read_at,
    read_u32,
    render_descriptor,
    sectors_for,
    write_at,
)
from toolkit.host.runner import Runner

__all__ = [
    "allocated_grains",
    "copy_sparse",
    "create_disk",
    "create_sparse",
    "directory",
    "grow_disk",
    "grow_sparse",
    "info",
    "read_descriptor",
    "read_header",
]

log = logging.getLogger(__name__)


def create_sparse(
    f: BinaryIO,
    size_bytes: int,
    *,
    adapter: str = "lsilogic",
    name: str = "disk.vmdk",
    cid: int | None = None,
) -> None:
    """Write an empty monolithicSparse disk; host space stays at its metadata, mostly holes."""
    capacity = sectors_for(size_bytes)
    gts = -(-capacity // (GRAIN_SECTORS * GTES_PER_GT))
    rgd = 1 + DESCRIPTOR_SECTORS
    gd = _write_directory(f, array("I"), gts, rgd)
    end = _write_directory(f, array("I"), gts, gd)
    overhead = -(-end // GRAIN_SECTORS) * GRAIN_SECTORS
    header = SparseHeader(capacity=capacity, rgd_offset=rgd, gd_offset=gd, overhead=overhead)
    text = render_descriptor(capacity, _adapter(adapter).value, name, _cid(cid), "monolithicSparse")
    _write_descriptor(f, header, text)
    write_at(f, 0, header.pack())
    extend(f, overhead * SECTOR)
    log.debug("created monolithicSparse %s: %d sectors, %d grain tables", name, capacity, gts)


def _adapter(value: str) -> Adapter:
    try:
        return Adapter(value)
    except ValueError:
        raise DiskError(f"unknown adapter type {value!r}") from None


def _cid(cid: int | None) -> int:
    # ffffffff means "no parent" in parentCID; never use it as a content id.
    return cid if cid is not None else secrets.randbelow(0xFFFFFFFE)


def _write_directory(f: BinaryIO, kept: array[int], total: int, at: int) -> int:
    """Write a directory of ``total`` tables at sector ``at``: ``kept`` entries, then new
    zero tables placed right after it. Returns the first sector after the block."""
    fresh = total - len(kept)
    first = at + gd_sectors(total)
    entries = array("I", kept)
    entries.extend(range(first, first + fresh * GT_SECTORS, GT_SECTORS))
    write_at(f, at * SECTOR, le_u32(entries))
    return first + fresh * GT_SECTORS


def _write_descriptor(f: BinaryIO, header: SparseHeader, text: str) -> None:
    data = text.encode("utf-8")
    if len(data) > header.descriptor_size * SECTOR:
        raise DiskError(f"descriptor of {len(data)} bytes does not fit the embedded area")
    write_at(f, header.descriptor_offset * SECTOR, data.ljust(header.descriptor_size * SECTOR, b"\0"))


def read_header(f: BinaryIO) -> SparseHeader:
    return SparseHeader.unpack(read_at(f, 0, SECTOR))


def read_descriptor(f: BinaryIO, header: SparseHeader) -> Descriptor:
    raw = read_at(f, header.descriptor_offset * SECTOR, header.descriptor_size * SECTOR)
    return Descriptor.parse(raw.split(b"\0", 1)[0])


def info(f: BinaryIO) -> DiskInfo:
    """What a disk file says about itself (monolithicSparse, streamOptimized, text descriptor)."""
    head = read_at(f, 0, SECTOR)
    if head[:4] == MAGIC:
        header = SparseHeader.unpack(head)
        desc = read_descriptor(f, header) if header.descriptor_size else Descriptor.parse(b"")
        allocated = sum(1 for _ in allocated_grains(f)) * header.grain_size * SECTOR
        kind = desc.create_type or ("streamOptimized" if header.is_stream else "monolithicSparse")
        return DiskInfo(header.capacity * SECTOR, kind, desc.adapter, desc.parent_hint, allocated)
    if head.lstrip().lower().startswith(b"# disk descriptorfile"):
        desc = Descriptor.parse(head + f.read(64 * 1024))
        if desc.create_type is None:
            raise DiskError(f"{NOT_A_DISK}: descriptor without createType")
        capacity = desc.capacity_sectors * SECTOR
        return DiskInfo(capacity, desc.create_type, desc.adapter, desc.parent_hint, None)
    raise DiskError(NOT_A_DISK)


def directory(f: BinaryIO, header: SparseHeader) -> array[int]:
    """The grain directory; a streamOptimized file keeps it behind its footer."""
    gd = header.gd_offset
    if gd == GD_AT_END:
        footer = SparseHeader.unpack(read_at(f, f.seek(0, 2) - 2 * SECTOR, SECTOR))
        gd = footer.gd_offset
    return read_u32(f, gd, header.gt_count)


def allocated_grains(f: BinaryIO) -> Iterator[tuple[int, int]]:
    """(grain index, sector in the file) of every grain that holds data."""
    header = read_header(f)
    for table_index, table_sector in enumerate(directory(f, header)):
        if table_sector == 0:
            continue
        table = read_u32(f, table_sector, header.gtes_per_gt)
        for entry_index, grain_sector in enumerate(table):
            # 1 is the "zeroed grain" marker of newer sparse files: no data behind it.
            if grain_sector > 1:
                yield table_index * header.gtes_per_gt + entry_index, grain_sector


def grow_sparse(f: BinaryIO, new_size_bytes: int) -> None:
    """Grow a monolithicSparse disk in place, keeping its data.

    When more grain tables are needed, a new directory (and redundant directory)
    with the extra tables is appended at the end of the file; the old tables stay
    where they are. Order: tables, then descriptor, then the header sector. This
    alone is not crash-safe (descriptor and header are two writes); ``grow_disk``
    makes it so by growing a copy.
    """
    header = read_header(f)
    if header.is_stream or header.version > 2:
        raise DiskError("only monolithicSparse disks can be grown; convert streamOptimized first")
    capacity = sectors_for(new_size_bytes)
    if capacity < header.capacity:
        raise DiskError(f"cannot shrink a disk from {header.capacity * SECTOR} to {capacity * SECTOR} bytes")
    grown = dataclasses.replace(header, capacity=capacity)
    if grown.gt_count > header.gt_count:
        grown = _append_directories(f, header, grown)
    desc = read_descriptor(f, header)
    _write_descriptor(f, header, desc.resized(capacity))
    write_at(f, 0, grown.pack())


def _append_directories(f: BinaryIO, old: SparseHeader, grown: SparseHeader) -> SparseHeader:
    at = -(-f.seek(0, 2) // SECTOR)
    rgd = 0
    if old.rgd_offset:
        rgd, at = at, _write_directory(f, read_u32(f, old.rgd_offset, old.gt_count), grown.gt_count, at)
    gd = at
    end = _write_directory(f, read_u32(f, old.gd_offset, old.gt_count), grown.gt_count, gd)
    # Keep the end grain-aligned so grains VMware appends later stay aligned.
    extend(f, -(-end // old.grain_size) * old.grain_size * SECTOR)
    return dataclasses.replace(grown, rgd_offset=rgd, gd_offset=gd)


def copy_sparse(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy a file, seeking over zero megabytes so the copy keeps holes."""
    size = 0
    while chunk := src.read(_COPY_CHUNK):
        if chunk != _ZERO_CHUNK[: len(chunk)]:
            write_at(dst, size, chunk)
        size += len(chunk)
    extend(dst, size)


def create_disk(runner: Runner, path: str, size_mb: int) -> None:
    """Create an empty monolithicSparse disk at ``path`` (atomically); never overwrite one."""
    if runner.exists(path):
        raise DiskError(f"cannot create disk {path!r}: The file already exists")
    with runner.open_write(path) as f:
        create_sparse(f, size_mb * 1024 * 1024, name=runner.path.basename(path))


def grow_disk(runner: Runner, path: str, size_mb: int) -> None:
    """Grow the disk at ``path`` to ``size_mb``.

    Crash safety by copy: the grown disk is written to a temporary file that
    replaces ``path`` atomically (``runner.open_write``), so a crash leaves either
    the old or the new disk, never a half-grown one. The copy keeps holes; its
    cost is proportional to the data in the disk. ``src`` is closed before the
    replacement happens (Windows cannot replace an open file).
    """
    new_size = size_mb * 1024 * 1024
    with runner.open_write(path) as dst:
        with runner.open_read(path) as src:
            current = info(src).capacity_bytes
            if new_size < current:
                raise DiskError(f"cannot shrink disk {path!r} from {current} to {new_size} bytes")
            src.seek(0)
            copy_sparse(src, dst)
        grow_sparse(dst, new_size)
    log.info("grew disk %s to %d MB", path, size_mb)
