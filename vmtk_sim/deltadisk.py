"""Child disks as VMware makes them for snapshots and linked clones.

A child is a text descriptor naming its parent (``parentFileNameHint``,
``parentCID``) plus one empty sparse extent: it copies no data. ``disk_files``
lists every file a disk consists of, so deleteVM and full clones can find them.
This module touches only the disk files it is given.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from toolkit.errors import DiskError
from toolkit.formats.vmdk import create_sparse, info, read_descriptor, read_header
from toolkit.formats.vmdkformat import Descriptor

_EXTENT_FILE = re.compile(r'^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+\S+\s+"([^"]+)"', re.IGNORECASE)
_DELTA_SUFFIX = re.compile(r"-\d{6}$")


def descriptor(path: str) -> Descriptor:
    """A disk's descriptor, embedded (sparse) or text."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        if head == b"KDMV":
            return read_descriptor(handle, read_header(handle))
        return Descriptor.parse(handle.read(64 * 1024))


def create_child(parent: str, child: str) -> None:
    """Write ``child`` (descriptor + empty extent) on top of the disk ``parent``."""
    with open(parent, "rb") as handle:
        parent_info = info(handle)
    parent_cid = descriptor(parent).get("CID") or "ffffffff"
    extent = f"{Path(child).stem}-s001.vmdk"
    with open(Path(child).parent / extent, "wb") as handle:
        create_sparse(handle, parent_info.capacity_bytes, name=extent)
    sectors = parent_info.capacity_bytes // 512
    Path(child).write_text(
        '# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\n'
        f'CID={secrets.token_hex(4)}\nparentCID={parent_cid}\nisNativeSnapshot="no"\n'
        f'createType="twoGbMaxExtentSparse"\nparentFileNameHint="{os.path.abspath(parent)}"\n\n'
        f'# Extent description\nRW {sectors} SPARSE "{extent}"\n\n'
        f'# The Disk Data Base\n#DDB\n\nddb.adapterType = "{parent_info.adapter_type or "lsilogic"}"\n'
        f'ddb.longContentID = "{secrets.token_hex(16)}"\n',
        encoding="utf-8",
    )


def disk_files(path: str) -> list[str]:
    """The descriptor (or monolithic file) and the extent files it names that exist."""
    try:
        desc = descriptor(path)
    except (OSError, DiskError):
        return [path] if os.path.exists(path) else []
    extents = [m.group(1) for m in map(_EXTENT_FILE.match, desc.lines) if m]
    names = [os.path.join(os.path.dirname(path), e) for e in extents]
    return [path] + [n for n in names if os.path.exists(n) and n != path]


def chain(path: str) -> list[str]:
    """``path`` and its ancestors through ``parentFileNameHint``, nearest first."""
    out = [path]
    while True:
        try:
            parent = descriptor(out[-1]).parent_hint
        except (OSError, DiskError):
            return out
        if parent is None:
            return out
        parent = os.path.join(os.path.dirname(out[-1]), parent)
        if parent in out or not os.path.exists(parent):
            return out
        out.append(parent)


def base_disk(path: str) -> str:
    """The disk at the root of the chain: the one that holds the data."""
    return chain(path)[-1]


def copy_flat(source: str, target: str) -> None:
    """A full copy: the data of ``source``'s chain in one file named ``target``."""
    shutil.copyfile(base_disk(source), target)


def base_name(file_name: str) -> str:
    """``web-000002.vmdk`` -> ``web``: the name VMware derives clone disk names from."""
    return _DELTA_SUFFIX.sub("", Path(file_name).stem)
