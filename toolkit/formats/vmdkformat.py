"""The VMDK sparse-extent format: constants, header, descriptor, geometry.

Pure data and byte layout from VMware's "Virtual Disk Format 1.1" (``KDMV``
header, embedded text descriptor, grain directory/table sizes) plus small
offset-addressed read/write helpers on seekable binary files. Shared by
``vmdk.py`` (monolithicSparse create/inspect/grow) and ``streamvmdk.py``
(streamOptimized). Must not open files by path or run programs.
"""

from __future__ import annotations

import enum
import re
import secrets
import struct
import sys
from array import array
from dataclasses import dataclass
from typing import BinaryIO

from toolkit.errors import DiskError

__all__ = [
    "Adapter",
    "DESCRIPTOR_SECTORS",
    "Descriptor",
    "DiskInfo",
    "FLAG_COMPRESSED",
    "FLAG_MARKERS",
    "FLAG_NEWLINE_TEST",
    "FLAG_REDUNDANT_GD",
    "GD_AT_END",
    "GRAIN_SECTORS",
    "GTES_PER_GT",
    "GT_SECTORS",
    "MAGIC",
    "MAX_SECTORS",
    "NOT_A_DISK",
    "SECTOR",
    "SparseHeader",
    "VIRTUAL_HW_VERSION",
    "extend",
    "gd_sectors",
    "geometry",
    "le_u32",
    "read_at",
    "read_u32",
    "render_descriptor",
    "sectors_for",
    "write_at",
]

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
_EXTENT = re.compile(r"^\s*(RW|RDONLY|NOACCESS)\s+(\d+)(\s+\S+.*)?$", re.IGNORECASE)
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
            MAGIC,
            self.version,
            self.flags,
            self.capacity,
            self.grain_size,
            self.descriptor_offset,
            self.descriptor_size,
            self.gtes_per_gt,
            self.rgd_offset,
            self.gd_offset,
            self.overhead,
            0,
            _NEWLINE_CHARS,
            self.compress,
        )
        return fields.ljust(SECTOR, b"\0")

    @classmethod
    def unpack(cls, sector: bytes) -> SparseHeader:
        if len(sector) < _HEADER.size or sector[:4] != MAGIC:
            raise DiskError(NOT_A_DISK)
        (_, version, flags, capacity, grain, d_off, d_size, gtes, rgd, gd, overhead, _, _, compress) = (
            _HEADER.unpack_from(sector)
        )
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
        values = dict(zip(_GEOMETRY_KEYS, geometry(capacity, self.adapter or "ide"), strict=True))
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
