"""streamOptimized VMDK (the disk inside OVAs and stemcells): read and write as streams.

``convert_stream_optimized`` turns a streamOptimized disk into a monolithicSparse
one that VMware can run, reading the source strictly sequentially (it may be a
pipe from a tar member) with memory bounded by the grain table (4 bytes per
grain). ``write_stream_optimized`` is the reverse, for test inputs and
benchmarks. This module must not touch host files itself (callers hand in file
objects) nor know the monolithicSparse layout beyond ``toolkit.formats.vmdk``'s API.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
import zlib
from array import array
from collections.abc import Callable
from typing import BinaryIO

from toolkit.errors import DiskError
from toolkit.formats import vmdk, vmdkformat
from toolkit.formats.vmdkformat import SECTOR, Descriptor, SparseHeader

__all__ = ["COMPRESS_DEFLATE", "FLAGS_STREAM", "convert_stream_optimized", "write_stream_optimized"]

log = logging.getLogger(__name__)

FLAGS_STREAM = vmdkformat.FLAG_NEWLINE_TEST | vmdkformat.FLAG_COMPRESSED | vmdkformat.FLAG_MARKERS
COMPRESS_DEFLATE = 1
MARKER_EOS, MARKER_GT, MARKER_GD, MARKER_FOOTER = 0, 1, 2, 3
_MARKER = struct.Struct("<QI")  # lba (or sector count) and compressed size (0: metadata)
_SKIP_CHUNK = 1 << 20
Progress = Callable[[int], None]


class _Stream:
    """Exact, sequential reads over a possibly non-seekable source."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self.position = 0

    def read(self, size: int, *, what: str) -> bytes:
        data = _read_up_to(self._src, size)
        if len(data) < size:
            raise DiskError(f"streamOptimized disk truncated at byte {self.position}, reading {what}")
        self.position += size
        return data

    def skip_to(self, offset: int) -> None:
        while self.position < offset:
            self.read(min(_SKIP_CHUNK, offset - self.position), what="padding")


def convert_stream_optimized(
    src: BinaryIO, dst: BinaryIO, *, progress: Progress | None = None, name: str = "disk.vmdk"
) -> None:
    """Convert streamOptimized ``src`` into a monolithicSparse disk written to seekable ``dst``.

    Grains are placed by their markers' LBAs, so the footer's directory is never
    needed; all-zero grains stay unallocated. ``name`` is the file name the
    embedded descriptor's extent line carries.
    """
    stream = _Stream(src)
    header = _stream_header(stream)
    stream.skip_to(header.descriptor_offset * SECTOR)
    text = stream.read(header.descriptor_size * SECTOR, what="the descriptor").split(b"\0", 1)[0]
    stream.skip_to(header.overhead * SECTOR)
    vmdk.create_sparse(dst, header.capacity * SECTOR, adapter=_adapter(Descriptor.parse(text)), name=name)
    target = vmdk.read_header(dst)
    table = array("I", bytes(4 * target.grains))
    _copy_grains(stream, dst, target, table, progress or (lambda _: None))
    _write_tables(dst, target, table)
    if progress:
        progress(100)


def _stream_header(stream: _Stream) -> SparseHeader:
    header = SparseHeader.unpack(stream.read(SECTOR, what="the header"))
    if not header.is_stream or not header.flags & vmdkformat.FLAG_MARKERS:
        raise DiskError(f"not a streamOptimized disk (version {header.version}, flags {header.flags:#x})")
    if header.compress != COMPRESS_DEFLATE or header.grain_size != vmdkformat.GRAIN_SECTORS:
        raise DiskError(
            f"unsupported streamOptimized disk (compression {header.compress}, grain {header.grain_size} sectors)"
        )
    return header


def _adapter(desc: Descriptor) -> str:
    known = {a.value for a in vmdkformat.Adapter}
    return desc.adapter if desc.adapter in known else vmdkformat.Adapter.LSILOGIC.value


def _copy_grains(stream: _Stream, dst: BinaryIO, target: SparseHeader, table: array[int], progress: Progress) -> None:
    """Follow markers to the end-of-stream marker, appending non-zero grains to ``dst``."""
    next_sector = target.overhead
    shown = -1
    while True:
        lba, size = _MARKER.unpack(stream.read(_MARKER.size, what="a marker"))
        if size == 0:
            kind = struct.unpack("<I", stream.read(SECTOR - _MARKER.size, what="a marker")[:4])[0]
            if kind == MARKER_EOS:
                return
            stream.skip_to(stream.position + lba * SECTOR)  # GT/GD/footer: LBAs say it all
            continue
        grain = _grain_index(lba, target)
        data = _inflate(stream.read(size, what=f"grain at sector {lba}"), lba)
        stream.skip_to(-(-stream.position // SECTOR) * SECTOR)
        if table[grain] or data.count(0) != len(data):
            if not table[grain]:
                table[grain], next_sector = next_sector, next_sector + target.grain_size
            vmdkformat.write_at(dst, table[grain] * SECTOR, data.ljust(target.grain_size * SECTOR, b"\0"))
        if (percent := min(99, lba * 100 // target.capacity)) != shown:
            shown = percent
            progress(percent)


def _grain_index(lba: int, target: SparseHeader) -> int:
    if lba % target.grain_size or lba >= target.capacity:
        raise DiskError(f"grain marker at sector {lba} is misaligned or beyond the disk's {target.capacity} sectors")
    return lba // target.grain_size


def _inflate(data: bytes, lba: int) -> bytes:
    inflater = zlib.decompressobj()
    grain_bytes = vmdkformat.GRAIN_SECTORS * SECTOR
    try:
        out = inflater.decompress(data, grain_bytes + 1)
    except zlib.error as exc:
        raise DiskError(f"grain at sector {lba} does not decompress: {exc}") from exc
    if len(out) > grain_bytes:
        raise DiskError(f"grain at sector {lba} inflates beyond {grain_bytes} bytes")
    return out


def _write_tables(dst: BinaryIO, target: SparseHeader, table: array[int]) -> None:
    """Write the grain tables that point somewhere, in both directories; empty ones stay holes."""
    per = target.gtes_per_gt
    directories = [vmdk.directory(dst, target)]
    if target.rgd_offset:
        directories.append(vmdkformat.read_u32(dst, target.rgd_offset, target.gt_count))
    for index in range(target.gt_count):
        entries = table[index * per : (index + 1) * per]
        if any(entries):
            data = vmdkformat.le_u32(entries)
            for gd in directories:
                vmdkformat.write_at(dst, gd[index] * SECTOR, data)


def write_stream_optimized(raw_src: BinaryIO, dst: BinaryIO, capacity: int) -> None:
    """Write ``capacity`` bytes of raw disk content read from ``raw_src`` as streamOptimized.

    ``dst`` may be a pipe: everything is written strictly in order. A short
    ``raw_src`` reads as zeros up to ``capacity``.
    """
    sectors = vmdkformat.sectors_for(capacity)
    header = SparseHeader(
        capacity=sectors,
        rgd_offset=0,
        gd_offset=vmdkformat.GD_AT_END,
        overhead=vmdkformat.GRAIN_SECTORS,
        version=3,
        flags=FLAGS_STREAM,
        compress=COMPRESS_DEFLATE,
    )
    text = vmdkformat.render_descriptor(sectors, "lsilogic", "disk.vmdk", 0xFFFFFFFE, "streamOptimized")
    body = header.pack() + text.encode("utf-8").ljust(header.descriptor_size * SECTOR, b"\0")
    writer = _Writer(dst, body.ljust(header.overhead * SECTOR, b"\0"))
    gd = array("I", bytes(4 * header.gt_count))
    for index in range(header.gt_count):
        gd[index] = _write_table_grains(raw_src, writer, header, index)
    gd_sector = writer.metadata(MARKER_GD, vmdkformat.le_u32(gd))
    writer.metadata(MARKER_FOOTER, dataclasses.replace(header, gd_offset=gd_sector).pack())
    writer.metadata(MARKER_EOS, b"")


def _write_table_grains(raw_src: BinaryIO, writer: _Writer, header: SparseHeader, index: int) -> int:
    """Write the grains of grain table ``index`` then the table; 0 when all are zero."""
    grain_bytes = header.grain_size * SECTOR
    table = array("I", bytes(4 * header.gtes_per_gt))
    first = index * header.gtes_per_gt
    for grain in range(first, min(first + header.gtes_per_gt, header.grains)):
        wanted = min(grain_bytes, header.capacity * SECTOR - grain * grain_bytes)
        data = _read_up_to(raw_src, wanted).ljust(grain_bytes, b"\0")
        if data.count(0) != len(data):
            table[grain - first] = writer.grain(grain * header.grain_size, zlib.compress(data))
    return writer.metadata(MARKER_GT, vmdkformat.le_u32(table)) if any(table) else 0


def _read_up_to(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end (pipes return short reads)."""
    parts: list[bytes] = []
    while size > 0 and (chunk := src.read(size)):
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


class _Writer:
    """Appends sector-padded records, tracking the current sector."""

    def __init__(self, dst: BinaryIO, prefix: bytes) -> None:
        self._dst = dst
        self.sector = 0
        self._emit(prefix)

    def _emit(self, data: bytes) -> int:
        start = self.sector
        padded = data.ljust(-(-len(data) // SECTOR) * SECTOR, b"\0")
        self._dst.write(padded)
        self.sector += len(padded) // SECTOR
        return start

    def grain(self, lba: int, compressed: bytes) -> int:
        return self._emit(_MARKER.pack(lba, len(compressed)) + compressed)

    def metadata(self, kind: int, data: bytes) -> int:
        """A metadata marker then ``data``; returns the sector where ``data`` starts."""
        sectors = -(-len(data) // SECTOR)
        self._emit(_MARKER.pack(sectors, 0) + struct.pack("<I", kind))
        return self._emit(data) if data else self.sector
