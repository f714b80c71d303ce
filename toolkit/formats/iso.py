"""CD-ROM images for agent settings, built and read with pycdlib.

Images carry three name sets so every guest finds its files: ISO9660 level 1
(``ENV.;1``), Joliet and Rock Ridge (``env``). ``read_iso`` returns the names a
Linux guest sees. Pure functions over bytes: this module must not touch host
files or attach images to VMs.
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Iterator, Mapping

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from toolkit.errors import IsoError

__all__ = ["SETTINGS_FILE", "build_iso", "canonical_json", "read_iso", "read_settings_iso", "settings_iso"]

SETTINGS_FILE = "env"
_NOT_D_CHARS = re.compile(r"[^A-Z0-9_]")
_JOLIET_MAX = 64
_SECTOR, _FIRST_DESCRIPTOR, _MAX_DESCRIPTORS, _TERMINATOR = 2048, 16, 64, 255
# pycdlib reports most damage as PyCdlibException, but a truncated image can also
# surface as a struct or index error from deep inside its parser.
_UNREADABLE = (PyCdlibException, struct.error, ValueError, IndexError)


def build_iso(files: Mapping[str, bytes], *, volume_id: str = "CDROM") -> bytes:
    """An ISO9660 image holding ``files`` (flat names) in its root directory."""
    for name in files:
        _check_name(name)
    iso = pycdlib.PyCdlib()
    out = io.BytesIO()
    try:
        iso.new(interchange_level=1, vol_ident=volume_id, joliet=3, rock_ridge="1.09")
        taken: set[str] = set()
        for name, data in sorted(files.items()):
            iso.add_fp(io.BytesIO(data), len(data), _level1_path(name, taken), rr_name=name, joliet_path="/" + name)
        iso.write_fp(out)
        iso.close()
    except PyCdlibException as exc:
        raise IsoError(f"cannot build ISO image: {exc}") from exc
    return out.getvalue()


def _check_name(name: str) -> None:
    if not name or "/" in name or "\0" in name or name in (".", "..") or len(name) > _JOLIET_MAX:
        raise IsoError(f"invalid ISO file name {name!r}: a flat name of 1-{_JOLIET_MAX} characters")


def _level1_path(name: str, taken: set[str]) -> str:
    """An 8.3 upper-case name, numbered when two names fold to the same one."""
    stem, dot, ext = name.upper().rpartition(".")
    if not dot or not stem:
        stem, ext = name.upper(), ""
    stem = _NOT_D_CHARS.sub("_", stem)[:8]
    ext = _NOT_D_CHARS.sub("_", ext)[:3]
    candidate, number = stem, 0
    while f"{candidate}.{ext}" in taken:
        number += 1
        candidate = stem[: 8 - len(str(number))] + str(number)
    taken.add(f"{candidate}.{ext}")
    return f"/{candidate}.{ext};1"


def read_iso(data: bytes) -> dict[str, bytes]:
    """Files by the names a Linux guest sees: Rock Ridge, else Joliet, else lower-cased ISO9660.

    No stricter than the kernel: Linux never reads the path tables, pycdlib does.
    An image whose tables declare more bytes than their records fill (iso9660wrap,
    which the vSphere and vmrun CPIs use, declares 2048 for 10) is read again with
    the declared sizes trimmed to the records.
    """
    try:
        return _read(data)
    except IsoError:
        trimmed = _trim_path_tables(data)
        if trimmed == data:
            raise
        return _read(trimmed)


def _read(data: bytes) -> dict[str, bytes]:
    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(io.BytesIO(data))
        try:
            facade = "rr_path" if iso.has_rock_ridge() else "joliet_path" if iso.has_joliet() else "iso_path"
            return {_linux_name(path, facade): _extract(iso, facade, path) for path in _walk(iso, facade)}
        finally:
            iso.close()
    except _UNREADABLE as exc:
        raise IsoError(f"unreadable ISO image: {exc}") from exc


def _trim_path_tables(data: bytes) -> bytes:
    """A copy whose volume descriptors declare path tables only as long as their records."""
    image = bytearray(data)
    for index in range(_FIRST_DESCRIPTOR, _FIRST_DESCRIPTOR + _MAX_DESCRIPTORS):
        at = index * _SECTOR
        kind = image[at] if at < len(image) else _TERMINATOR
        if kind == _TERMINATOR or image[at + 1 : at + 6] != b"CD001":
            break
        if kind in (1, 2):  # primary, supplementary: both have path tables
            declared, table = struct.unpack_from("<I", image, at + 132)[0], struct.unpack_from("<I", image, at + 140)[0]
            used = _path_table_bytes(image, table * _SECTOR, declared)
            struct.pack_into("<I", image, at + 132, used)
            struct.pack_into(">I", image, at + 136, used)
    return bytes(image)


def _path_table_bytes(image: bytearray, start: int, declared: int) -> int:
    """Bytes of whole records from ``start``; a zero identifier length is padding, not a record."""
    used = 0
    while used + 8 <= declared and start + used < len(image) and image[start + used] > 0:
        length = image[start + used]
        used += 8 + length + (length & 1)
    return min(used, declared)


def _walk(iso: pycdlib.PyCdlib, facade: str) -> Iterator[str]:
    for directory, _, names in iso.walk(**{facade: "/"}):
        for name in names:
            yield f"{directory.rstrip('/')}/{name}"


def _extract(iso: pycdlib.PyCdlib, facade: str, path: str) -> bytes:
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, **{facade: path})
    return out.getvalue()


def _linux_name(path: str, facade: str) -> str:
    if facade != "iso_path":
        return path.lstrip("/")
    # Linux's iso9660 default (map=normal): lower case, no ";1", no trailing dot.
    return path.lstrip("/").lower().split(";", 1)[0].rstrip(".")


def settings_iso(settings: Mapping[str, object]) -> bytes:
    """An image with one file, ``env``, holding ``settings`` as canonical JSON."""
    return build_iso({SETTINGS_FILE: canonical_json(settings)})


def canonical_json(settings: Mapping[str, object]) -> bytes:
    """Sorted keys, compact separators, UTF-8: the same settings give the same bytes."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def read_settings_iso(data: bytes) -> dict[str, object]:
    """The settings an agent would read from ``env`` on the image."""
    files = read_iso(data)
    if SETTINGS_FILE not in files:
        raise IsoError(f"no {SETTINGS_FILE!r} file on the settings image (found {sorted(files)})")
    try:
        settings = json.loads(files[SETTINGS_FILE].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IsoError(f"the settings file is not JSON: {exc}") from exc
    if not isinstance(settings, dict):
        raise IsoError("the settings file does not hold a JSON object")
    return settings
