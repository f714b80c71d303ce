"""The simulated guest's CD-ROM reader: an ISO 9660 image read the way Linux's isofs reads it.

The agent in a stemcell mounts the settings CD-ROM and reads the file ``env``
from its root. Linux finds files by walking directory extents from the root
record of the volume descriptor; it never reads the path tables, so an image
whose path tables are wrong (iso9660wrap, used by the vSphere and vmrun CPIs,
declares a 2048-byte table holding 10 bytes) mounts and reads fine. Names are
chosen as a default mount does: Rock Ridge ``NM`` when the root carries the
SUSP ``SP`` entry, else Joliet (UCS-2) when a Joliet volume descriptor exists,
else the ISO 9660 name mapped with ``map=normal`` (lower case, no ``;1``, no
trailing dot). Only the root directory is read (the agent reads nothing
else); Rock Ridge continuation areas and multi-extent files are not followed.

This reader is the simulator's own: the product's ISO module (pycdlib) is what
it checks, so it must not be what it checks with. Pure: bytes in, files out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

SECTOR = 2048
FIRST_DESCRIPTOR = 16
PRIMARY, SUPPLEMENTARY, TERMINATOR = 1, 2, 255
JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")
DIRECTORY_FLAG = 0x02
MAX_DESCRIPTORS = 64


class CdromError(Exception):
    """The image would not mount, or a file could not be read (the guest sees an I/O error)."""


@dataclass(frozen=True, slots=True)
class _Record:
    extent: int
    size: int
    flags: int
    name: bytes
    system_use: bytes


@dataclass(frozen=True, slots=True)
class _Volume:
    block: int
    root: _Record
    joliet: bool


def read_root_files(image: bytes) -> dict[str, bytes]:
    """The files of the image's root directory, by the names a Linux guest sees."""
    primary, joliet = _volumes(image)
    rock_ridge = _has_rock_ridge(image, primary)
    volume = joliet if joliet is not None and not rock_ridge else primary
    files: dict[str, bytes] = {}
    for record in _entries(image, volume):
        if record.name in (b"\0", b"\1") or record.flags & DIRECTORY_FLAG:
            continue
        name = _rock_ridge_name(record) if rock_ridge else None
        if name is None:
            name = _joliet_name(record.name) if volume.joliet else _mapped_name(record.name)
        files[name] = _contents(image, volume.block, record)
    return files


def _volumes(image: bytes) -> tuple[_Volume, _Volume | None]:
    primary: _Volume | None = None
    joliet: _Volume | None = None
    for index in range(FIRST_DESCRIPTOR, FIRST_DESCRIPTOR + MAX_DESCRIPTORS):
        descriptor = image[index * SECTOR : (index + 1) * SECTOR]
        if len(descriptor) < SECTOR or descriptor[1:6] != b"CD001":
            break
        kind = descriptor[0]
        if kind == TERMINATOR:
            break
        if kind == PRIMARY and primary is None:
            primary = _volume(descriptor, joliet=False)
        elif kind == SUPPLEMENTARY and descriptor[88:91] in JOLIET_ESCAPES and joliet is None:
            joliet = _volume(descriptor, joliet=True)
    if primary is None:
        raise CdromError("no ISO 9660 primary volume descriptor (mount: wrong fs type)")
    return primary, joliet


def _volume(descriptor: bytes, *, joliet: bool) -> _Volume:
    block = struct.unpack_from("<H", descriptor, 128)[0]
    if block not in (512, 1024, 2048):
        raise CdromError(f"logical block size {block} (isofs mounts only 512, 1024 or 2048)")
    return _Volume(block, _parse_record(descriptor[156:190]), joliet)


def _parse_record(raw: bytes) -> _Record:
    if len(raw) < 34 or raw[0] < 34 or raw[0] > len(raw):
        raise CdromError("truncated directory record")
    name_length = raw[32]
    name = raw[33 : 33 + name_length]
    use_start = 33 + name_length + (1 - name_length % 2)  # names are padded to an even offset
    return _Record(
        extent=struct.unpack_from("<I", raw, 2)[0],
        size=struct.unpack_from("<I", raw, 10)[0],
        flags=raw[25],
        name=name,
        system_use=raw[use_start : raw[0]],
    )


def _entries(image: bytes, volume: _Volume) -> Iterator[_Record]:
    """The directory's records; a record never crosses a sector, a zero length pads to the next."""
    data = _contents(image, volume.block, volume.root)
    offset = 0
    while offset < len(data):
        length = data[offset]
        if length == 0:
            offset = (offset // SECTOR + 1) * SECTOR
            continue
        yield _parse_record(data[offset : offset + length])
        offset += length


def _contents(image: bytes, block: int, record: _Record) -> bytes:
    start = record.extent * block
    if start + record.size > len(image):
        raise CdromError(f"extent {record.extent} (+{record.size} bytes) lies beyond the image's end")
    return image[start : start + record.size]


def _has_rock_ridge(image: bytes, primary: _Volume) -> bool:
    """Linux looks for the SUSP ``SP`` entry in the root's ``.`` record."""
    for record in _entries(image, primary):
        return record.system_use[:2] == b"SP" and record.system_use[4:6] == b"\xbe\xef"
    return False


def _rock_ridge_name(record: _Record) -> str | None:
    parts: list[bytes] = []
    for signature, body in _susp_entries(record.system_use):
        if signature == b"NM" and body and not body[0] & 0x06:  # not "." / ".."
            parts.append(body[1:])
    return b"".join(parts).decode("utf-8", "replace") if parts else None


def _susp_entries(area: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = 0
    while offset + 4 <= len(area):
        length = area[offset + 2]
        if length < 4:
            return
        yield area[offset : offset + 2], area[offset + 4 : offset + length]
        offset += length


def _joliet_name(raw: bytes) -> str:
    """fs/isofs/joliet.c: drop a final ``;1``, then trailing dots."""
    name = raw.decode("utf-16-be", "replace")
    name = name[:-2] if len(name) > 2 and name.endswith(";1") else name
    while len(name) >= 2 and name.endswith("."):
        name = name[:-1]
    return name


def _mapped_name(raw: bytes) -> str:
    """fs/isofs/dir.c ``isofs_name_translate`` (map=normal): lower case, no ``.;1``/``;1``, other ``;`` -> ``.``."""
    name = raw.decode("latin-1").split("\0", 1)[0].lower()
    for suffix in (".;1", ";1"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace(";", ".").replace("/", ".")
