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
import enum
import logging
import re
import secrets
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from toolkit.errors import DiskError
from toolkit.runner import Runner

log = logging.getLogger(__name__)

SECTOR = 512
MAGIC = b"KDMV"
GRAIN_SECTORS = 128  # 64 KiB grains, what VMware and qemu-img write
GTES_PER_GT = 512
GT_SECTORS = GTES_PER_GT * 4 // SECTOR
DESCRIPTOR_SECTORS = 20
GD_AT_END = 0xFFFFFFFFFFFFFFFF  # streamOptimized: the directory is found through the footer
FLAG_NEWLINE_TEST = 0x1
FLAG_REDUNDANT_GD = 0x2
FLAG_COMPRESSED = 0x10000
FLAG_MARKERS = 0x20000
MAX_SECTORS = 1 << 37  # 64 TiB, above any hosted product's limit: a damaged header, not a disk
NOT_A_DISK = "The specified file is not a virtual disk"  # vmware-vdiskmanager's phrase
_HEADER = struct.Struct("<4sIIQQQQIQQQB4sH")
_NEWLINE_CHARS = b"\n \r\n"
_EXTENT = re.compile(r'^\s*(RW|RDONLY|NOACCESS)\s+(\d+)(\s+\S+.*)?$', re.IGNORECASE)
_GEOMETRY_KEYS = ("ddb.geometry.cylinders", "ddb.geometry.heads", "ddb.geometry.sectors")
# qemu-img's default; Packer's Player driver showed VMware hosted products accept it, and
# a disk claiming a newer hardware version than its VM is refused by older products.
VIRTUAL_HW_VERSION = "4"
_COPY_CHUNK = 1 << 20
_ZERO_CHUNK = bytes(_COPY_CHUNK)


class Adapter(str, enum.Enum):
    """Values of ``ddb.adapterType`` VMware hosted products accept."""

    IDE = "ide"
    BUSLOGIC = "buslogic"
    LSILOGIC = "lsilogic"
    LEGACY_ESX = "legacyESX"
    PVSCSI = "pvscsi"


@dataclass(frozen=True, slots=True)
class DiskInfo:
    capacity_bytes: int
    create_type: str
    adapter_type: str | None
    parent_hint: str | None
    allocated_bytes: int | None  # bytes of virtual disk backed by grains; None for text descriptors


@dataclass(frozen=True, slots=True)
class SparseHeader:
    """The 512-byte ``KDMV`` header; offsets and sizes are in sectors."""

    capacity: int
    rgd_offset: int
    gd_offset: int
    overhead: int
    version: int = 1
    flags: int = FLAG_NEWLINE_TEST | FLAG_REDUNDANT_GD
    grain_size: int = GRAIN_SECTORS
    descriptor_offset: int = 1
    descriptor_size: int = DESCRIPTOR_SECTORS
    gtes_per_gt: int = GTES_PER_GT
    compress: int = 0

    @property
    def grains(self) -> int:
        return -(-self.capacity // self.grain_size)

    @property
    def gt_count(self) -> int:
        return -(-self.grains // self.gtes_per_gt)

    @property
    def is_stream(self) -> bool:
        return bool(self.flags & FLAG_COMPRESSED)

    def pack(self) -> bytes:
        fields = _HEADER.pack(
            MAGIC, self.version, self.flags, self.capacity, self.grain_size,
            self.descriptor_offset, self.descriptor_size, self.gtes_per_gt,
            self.rgd_offset, self.gd_offset, self.overhead, 0, _NEWLINE_CHARS, self.compress,
        )  # fmt: skip
        return fields.ljust(SECTOR, b"\0")

    @classmethod
    def unpack(cls, sector: bytes) -> SparseHeader:
        if len(sector) < _HEADER.size or sector[:4] != MAGIC:
            raise DiskError(NOT_A_DISK)
        (_, version, flags, capacity, grain, d_off, d_size, gtes,
         rgd, gd, overhead, _, _, compress) = _HEADER.unpack_from(sector)  # fmt: skip
        if grain == 0 or gtes == 0 or version not in (1, 2, 3) or capacity > MAX_SECTORS:
            raise DiskError(f"{NOT_A_DISK}: unsupported sparse header (v{version}, {capacity} sectors)")
        return cls(capacity, rgd, gd, overhead, version, flags, grain, d_off, d_size, gtes, compress)


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A disk descriptor (text or embedded), kept as its lines so edits are minimal."""

    lines: tuple[str, ...]

    @classmethod
    def parse(cls, data: bytes) -> Descriptor:
        return cls(tuple(data.decode("utf-8", errors="replace").splitlines()))

    def get(self, key: str) -> str | None:
        """A ``key = "value"`` entry, case-insensitive, quotes removed."""
        for line in self.lines:
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#") and name.strip().lower() == key.lower():
                return value.strip().strip('"')
        return None

    @property
    def create_type(self) -> str | None:
        return self.get("createType")

    @property
    def adapter(self) -> str | None:
        return self.get("ddb.adapterType")

    @property
    def parent_hint(self) -> str | None:
        return self.get("parentFileNameHint")

    @property
    def capacity_sectors(self) -> int:
        return sum(int(m.group(2)) for m in map(_EXTENT.match, self.lines) if m)

    def resized(self, capacity: int) -> str:
        """The text for a single-extent disk grown to ``capacity`` sectors (extent and geometry)."""
        values = dict(zip(_GEOMETRY_KEYS, geometry(capacity, self.adapter or "ide")))
        out = []
        for line in self.lines:
            extent = _EXTENT.match(line)
            key = line.partition("=")[0].strip().lower()
            if extent:
                line = f"{extent.group(1)} {capacity}{extent.group(3) or ''}"
            elif "=" in line and key in values:
                line = f'{line.partition("=")[0].strip()} = "{values[key]}"'
            out.append(line)
        return "\n".join(out) + "\n"


def geometry(capacity: int, adapter: str) -> tuple[int, int, int]:
    """(cylinders, heads, sectors) as VMware writes them for ``capacity`` sectors."""
    if adapter == Adapter.IDE:
        return max(1, min(capacity // (16 * 63), 16383)), 16, 63
    # SCSI BIOS translation: VMware's own 1 MiB lsilogic disk says 1/64/32.
    heads, per_track = (64, 32) if capacity < 1 << 21 else (128, 32) if capacity < 1 << 22 else (255, 63)
    return max(1, capacity // (heads * per_track)), heads, per_track


def render_descriptor(capacity: int, adapter: str, name: str, cid: int, create_type: str) -> str:
    cylinders, heads, per_track = geometry(capacity, adapter)
    return (
        f'# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\nCID={cid:08x}\nparentCID=ffffffff\n'
        f'isNativeSnapshot="no"\ncreateType="{create_type}"\n\n'
        f'# Extent description\nRW {capacity} SPARSE "{name}"\n\n'
        f'# The Disk Data Base\n#DDB\n\nddb.adapterType = "{adapter}"\n'
        f'ddb.geometry.cylinders = "{cylinders}"\nddb.geometry.heads = "{heads}"\n'
        f'ddb.geometry.sectors = "{per_track}"\nddb.longContentID = "{secrets.token_hex(16)}"\n'
        f'ddb.virtualHWVersion = "{VIRTUAL_HW_VERSION}"\n'
    )


def gd_sectors(gt_count: int) -> int:
    return -(-gt_count * 4 // SECTOR)


def le_u32(values: array[int]) -> bytes:
    """Little-endian bytes of an ``array('I')`` (grain directories and tables)."""
    if sys.byteorder == "big":
        values = array("I", values)
        values.byteswap()
    return values.tobytes()


def read_u32(f: BinaryIO, sector: int, count: int) -> array[int]:
    """``count`` little-endian u32 values stored at ``sector``."""
    values = array("I")
    values.frombytes(read_at(f, sector * SECTOR, count * 4).ljust(count * 4, b"\0"))
    if sys.byteorder == "big":
        values.byteswap()
    return values


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def write_at(f: BinaryIO, offset: int, data: bytes) -> None:
    f.seek(offset)
    f.write(data)


def extend(f: BinaryIO, size: int) -> None:
    """Make the file at least ``size`` bytes long, leaving a hole where the file system can."""
    if f.seek(0, 2) >= size:
        return
    f.truncate(size)
    if f.seek(0, 2) < size:  # io.BytesIO does not grow on truncate
        write_at(f, size - 1, b"\0")


def sectors_for(size_bytes: int) -> int:
    if not 0 < size_bytes <= MAX_SECTORS * SECTOR:
        raise DiskError(f"disk size must be between 1 byte and 64 TiB, got {size_bytes} bytes")
    return -(-size_bytes // SECTOR)


def create_sparse(
    f: BinaryIO, size_bytes: int, *, adapter: str = "lsilogic", name: str = "disk.vmdk",
    cid: int | None = None,
) -> None:  # fmt: skip
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
