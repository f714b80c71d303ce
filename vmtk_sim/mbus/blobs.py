"""The simulated agent's local blobstore: one file per blob ID in a guest directory.

The bosh CLI PUTs package sources and rendered jobs to ``/blobs/<prefix>/<id>``
and the agent keeps them in its micro-store; compile_package and apply read
them back by ID and check them against the digest the caller sent. Digests are
BOSH multi-digests: ``<sha1 hex>``, ``sha256:<hex>``, or several joined by ``;``
(each known algorithm must match). Blob IDs are single path components; this
module never lets one name a file outside the store.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from toolkit.host.digest import digest_of
from toolkit.host.runner import LocalRunner
from vmtk_sim.mbus.errors import AgentActionError

CHUNK = 1 << 20
_BLOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_ALGORITHMS = frozenset({"sha1", "sha256", "sha512"})


class BlobStore:
    """Blobs by ID under ``root`` (a host directory inside the VM's guest root)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, blob_id: str) -> Path:
        if not _BLOB_ID.match(blob_id):
            raise AgentActionError(f"Invalid blob id {blob_id!r}")
        return self.root / blob_id

    def write(self, blob_id: str, chunks: Iterator[bytes]) -> None:
        """Store ``chunks`` as ``blob_id``; the blob appears whole or not at all."""
        target = self.path(blob_id)
        self.root.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{blob_id}.{uuid.uuid4().hex}.part")
        try:
            with open(temp, "wb") as out:
                out.writelines(chunks)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)

    def add(self, source: Path) -> tuple[str, str]:
        """Store a local file under a new ID; returns ``(blob_id, sha1 hex)``."""
        blob_id = str(uuid.uuid4())
        with open(source, "rb") as handle:
            self.write(blob_id, iter(lambda: handle.read(CHUNK), b""))
        return blob_id, file_digest(self.path(blob_id), "sha1")

    def open(self, blob_id: str) -> BinaryIO:
        """The blob's bytes; ``FileNotFoundError`` when the store has no such blob."""
        return open(self.path(blob_id), "rb")

    def fetch(self, blob_id: str, digest: str) -> Path:
        """The blob's path after checking it against ``digest`` (a BOSH multi-digest)."""
        path = self.path(blob_id)
        if not path.is_file():
            raise AgentActionError(f"Getting blob from inner blobstore: blob {blob_id!r} not found")
        verify(path, digest)
        return path


def verify(path: Path, digest: str) -> None:
    """Raise unless every digest in ``digest`` that names a known algorithm matches ``path``."""
    checked = 0
    for algorithm, expected in _parse(digest):
        actual = file_digest(path, algorithm)
        if actual != expected.lower():
            raise AgentActionError(f"Checking blob: expected {algorithm} {expected}, got {actual}")
        checked += 1
    if not checked:
        raise AgentActionError(f"Checking blob: no supported digest in {digest!r}")


def _parse(digest: str) -> Iterator[tuple[str, str]]:
    for part in digest.split(";"):
        algorithm, _, value = part.strip().rpartition(":")
        algorithm = algorithm or "sha1"
        if algorithm in _ALGORITHMS and value:
            yield algorithm, value


def file_digest(path: Path, algorithm: str) -> str:
    return digest_of(LocalRunner(), str(path), algorithm)
