"""Typed, validated cloud IDs (CIDs) for stemcells, VMs, disks and snapshots.

A CID is what BOSH holds: a bare UUID, as the reference CPI returns. On the host
each resource's files carry a prefix (``cs-``, ``vm-``, ``disk-``, ``snapshot-``)
so a store listing says what every entry is. CIDs come from JSON written by
others, so they are validated HERE, before any of them reaches a path: only
``[A-Za-z0-9-]`` is accepted, which rules out ``/``, ``\\``, ``..``, empty
strings and control characters. This module must not touch the file system.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from cpi.errors import CpiError

_VALID = re.compile(r"[A-Za-z0-9-]{1,128}")

C = TypeVar("C", bound="Cid")


@dataclass(frozen=True, slots=True)
class Cid:
    """A validated CID; ``str(cid)`` is what BOSH sees, ``cid.name`` the file stem."""

    value: str
    prefix: ClassVar[str] = ""
    kind: ClassVar[str] = "resource"

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or _VALID.fullmatch(self.value) is None:
            raise CpiError(f"Invalid {self.kind} CID {_shown(self.value)}: expected letters, digits and '-'")

    @classmethod
    def parse(cls: type[C], raw: object, *, argument: str = "") -> C:
        """A CID from JSON; ``CpiError`` naming ``argument`` when it is not one."""
        if not isinstance(raw, str):
            where = f"Argument '{argument}'" if argument else f"The {cls.kind} CID"
            raise CpiError(f"{where} must be a string, got {type(raw).__name__}")
        return cls(raw)

    @classmethod
    def from_name(cls: type[C], name: str) -> C | None:
        """The CID a store entry's name (a ``cid.name``) claims; ``None`` if it claims none of this kind."""
        if not name.startswith(cls.prefix):
            return None
        try:
            return cls(name[len(cls.prefix) :])
        except CpiError:  # a foreign name that only looks like ours
            return None

    @classmethod
    def new(cls: type[C]) -> C:
        return cls(str(uuid.uuid4()))

    @property
    def name(self) -> str:
        """The name of this resource's files and directory on the host."""
        return self.prefix + self.value

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class StemcellCid(Cid):
    prefix: ClassVar[str] = "cs-"
    kind: ClassVar[str] = "stemcell"


@dataclass(frozen=True, slots=True)
class VmCid(Cid):
    prefix: ClassVar[str] = "vm-"
    kind: ClassVar[str] = "VM"


@dataclass(frozen=True, slots=True)
class DiskCid(Cid):
    prefix: ClassVar[str] = "disk-"
    kind: ClassVar[str] = "disk"


@dataclass(frozen=True, slots=True)
class SnapshotCid(Cid):
    prefix: ClassVar[str] = "snapshot-"
    kind: ClassVar[str] = "snapshot"


def _shown(value: object) -> str:
    """A CID for an error message: quoted, control characters escaped, bounded."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
